import type { Command } from 'commander';
import { buildApp } from '../app.ts';
import { loadConfig } from '../config.ts';
import { onStopSignal } from './stop-signal.ts';

async function serve(): Promise<void> {
  const config = loadConfig();
  // A stop signal during start-up (loading, migrations) is kept and acted on once the app is built; a start-up that
  // does not finish within JACKET_SHUTDOWN_TIMEOUT after it (say, waiting for an unreachable database) is cut.
  let stopDuringStartup: string | undefined;
  onStopSignal((signal) => {
    if (stopDuringStartup) return;
    stopDuringStartup = signal;
    setTimeout(() => {
      process.stderr.write(`jacket: ${signal} during start-up, which did not finish within JACKET_SHUTDOWN_TIMEOUT: exiting\n`);
      process.exit(1);
    }, config.shutdownTimeoutMs).unref();
  });
  const { app, services } = await buildApp(config, { generateAdminToken: true });
  if (services.generatedAdminToken) {
    // Shown once: only its hash is stored.
    process.stdout.write(
      `\nJACKET_ADMIN_TOKEN was not set, so an administrator token was generated. It is shown only this once:\n\n    ${services.generatedAdminToken}\n\nKeep it; Jacket stores only its hash.\n\n`,
    );
  }
  let closing = false;
  // Graceful: stop accepting connections, let in-flight requests (and the blob and row writes inside them) finish,
  // close the database, exit 0. A request that outlives JACKET_SHUTDOWN_TIMEOUT is cut and the exit code says so;
  // crash safety (blob before row, atomic writes) makes even that cut harmless.
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    app.log.info({ signal, timeoutMs: config.shutdownTimeoutMs }, 'shutting down: finishing in-flight requests');
    const deadline = setTimeout(() => {
      app.log.error({ timeoutMs: config.shutdownTimeoutMs }, 'shutdown timeout reached: exiting with requests still in flight');
      process.exit(1);
    }, config.shutdownTimeoutMs);
    deadline.unref();
    // server.close() drops only the keep-alive connections idle at that moment; one whose request finishes later
    // would hold the exit until the client lets go, so keep dropping the ones that become idle.
    const server = app.server as { closeIdleConnections?: () => void };
    const sweep = setInterval(() => server.closeIdleConnections?.(), 50);
    sweep.unref();
    try {
      await app.close();
    } catch (error) {
      app.log.error({ err: error }, 'error while shutting down');
      process.exit(1);
    }
    app.log.info('shut down cleanly');
    process.exit(0);
  };
  onStopSignal((signal) => void shutdown(signal));
  // Stopped while starting: close what was opened, never listen.
  if (stopDuringStartup) return shutdown(stopDuringStartup);
  await app.listen({ port: config.port, host: config.host });
}

export function registerServe(program: Command): void {
  program.command('serve', { isDefault: true }).description('serve the HTTP APIs (the default)').action(serve);
}
