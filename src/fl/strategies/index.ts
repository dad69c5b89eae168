// The built-in algorithms; importing this module registers them.
export { fedAvg } from './fedavg.js';
export { fedProx } from './fedprox.js';
export { fedRS } from './fedrs.js';
export { fedOpt, SERVER_OPTIMIZERS, type ServerOptimizerName } from './fedopt.js';
export { scaffold } from './scaffold.js';
