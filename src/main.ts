import { ConfigError } from './config.ts';
import { catchStopSignals } from './cli/stop-signal.ts';

// `serve` (also the command when none is given) catches SIGTERM/SIGINT before anything else loads: see
// src/cli/stop-signal.ts. Other commands keep the default (a signal ends them).
const command = process.argv[2];
if (command === undefined || command === 'serve') catchStopSignals();
const { buildCli } = await import('./cli/index.ts');

try {
  await buildCli().parseAsync(process.argv);
} catch (error) {
  if (error instanceof ConfigError) {
    process.stderr.write(`jacket: configuration error: ${error.message}\n`);
    process.exit(2);
  }
  throw error;
}
