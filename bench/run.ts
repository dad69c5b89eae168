// npm run bench [name…]: runs every benchmark module (or the named ones) in turn.
import * as aggregate from './aggregate.js';
import * as audioFeatures from './audio-features.js';
import * as clientState from './client-state.js';
import * as cluster from './cluster.js';
import * as engine from './engine.js';
import * as gruTrain from './gru-train.js';
import * as nativeGemm from './native-gemm.js';
import * as runtime from './runtime.js';
import * as runtimeTfjs from './runtime-tfjs.js';
import * as uciHarTrain from './uci-har-train.js';
import * as secagg from './secagg.js';

const modules: { name: string; run: () => Promise<void> }[] = [
  { name: 'engine', run: engine.run },
  { name: 'native-gemm', run: nativeGemm.run },
  { name: 'aggregate', run: aggregate.run },
  { name: 'gru-train', run: gruTrain.run },
  { name: 'runtime', run: runtime.run },
  { name: 'runtime-tfjs', run: runtimeTfjs.run },
  { name: 'client-state', run: clientState.run },
  { name: 'audio-features', run: audioFeatures.run },
  { name: 'uci-har-train', run: uciHarTrain.run },
  { name: 'cluster', run: cluster.run },
  { name: 'secagg', run: secagg.run },
];

const wanted = process.argv.slice(2);
const unknown = wanted.filter((w) => !modules.some((m) => m.name === w));
if (unknown.length) throw new Error(`bench: unknown module ${unknown.join(', ')} (known: ${modules.map((m) => m.name).join(', ')})`);
for (const m of modules) {
  if (wanted.length && !wanted.includes(m.name)) continue;
  console.log(`\n## ${m.name}`);
  await m.run();
}
