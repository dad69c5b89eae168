#!/usr/bin/env node
// The fedmm command: `fedmm <command> [options]`. Errors end as one line on stderr and a non-zero exit
// (2 for usage errors, 1 for failures); --verbose adds the stack trace.
import { UsageError } from './args.js';
import { COMMANDS, mainHelp } from './commands/index.js';
import { VERSION } from './version.js';

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === 'help' || name === '-h') {
    const topic = name === 'help' ? rest[0] : undefined;
    if (topic !== undefined) {
      const cmd = COMMANDS.find((c) => c.name === topic);
      if (!cmd) throw new UsageError(`unknown command '${topic}'; commands: ${COMMANDS.map((c) => c.name).join(', ')}`);
      process.stdout.write(cmd.help() + '\n');
      return 0;
    }
    process.stdout.write(mainHelp() + '\n');
    return 0;
  }
  if (name === '--version') {
    process.stdout.write(`fedmm ${VERSION}\n`);
    return 0;
  }
  const cmd = COMMANDS.find((c) => c.name === name);
  if (!cmd) {
    const known = COMMANDS.map((c) => c.name);
    const hint = known.find((k) => k.startsWith(name.slice(0, 2)));
    throw new UsageError(`unknown command '${name}'${hint ? ` (did you mean '${hint}'?)` : ''}; commands: ${known.join(', ')} (see 'fedmm --help')`);
  }
  if (rest.includes('--help')) {
    process.stdout.write(cmd.help() + '\n');
    return 0;
  }
  return cmd.run(rest);
}

const argv = process.argv.slice(2);
const verbose = argv.includes('--verbose');
try {
  process.exitCode = await main(argv);
} catch (e) {
  const err = e instanceof Error ? e : new Error(String(e));
  const line = err.message.split('\n')[0];
  const clearBar = process.stderr.isTTY ? '\r\x1b[2K' : '';
  process.stderr.write(`${clearBar}fedmm: ${line}\n`);
  if (verbose && err.stack) process.stderr.write(err.stack + '\n');
  process.exitCode = err instanceof UsageError ? err.exitCode : 1;
}
