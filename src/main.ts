import { buildCli } from './cli/index.ts';
import { ConfigError } from './config.ts';

try {
  await buildCli().parseAsync(process.argv);
} catch (error) {
  if (error instanceof ConfigError) {
    process.stderr.write(`jacket: configuration error: ${error.message}\n`);
    process.exit(2);
  }
  throw error;
}
