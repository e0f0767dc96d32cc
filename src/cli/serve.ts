import type { Command } from 'commander';
import { buildApp } from '../app.ts';
import { loadConfig } from '../config.ts';

async function serve(): Promise<void> {
  const config = loadConfig();
  const { app, services } = await buildApp(config);
  if (services.generatedAdminToken) {
    // Shown once: only its hash is stored.
    process.stdout.write(
      `\nJACKET_ADMIN_TOKEN was not set, so an administrator token was generated. It is shown only this once:\n\n    ${services.generatedAdminToken}\n\nKeep it; Jacket stores only its hash.\n\n`,
    );
  }
  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    app.log.info({ signal }, 'shutting down');
    await app.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
  await app.listen({ port: config.port, host: config.host });
}

export function registerServe(program: Command): void {
  program.command('serve', { isDefault: true }).description('serve the HTTP APIs (the default)').action(serve);
}
