/**
 * SIGTERM and SIGINT for `jacket serve`, caught from the first moment. As a container's PID 1 the server ignores a
 * signal it has no handler for, and loading the modules and opening (migrating) the catalogue take a while: a
 * `docker stop` in that time would be lost and end in the runtime's SIGKILL. A signal that comes before the server
 * can act on it is kept, and handed over as soon as it can. This module imports nothing, so src/main.ts can install
 * it before loading the rest.
 */
type Signal = 'SIGTERM' | 'SIGINT';

let installed = false;
let pending: Signal | undefined;
let handler: ((signal: Signal) => void) | undefined;

export function catchStopSignals(): void {
  if (installed) return;
  installed = true;
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => {
      if (handler) handler(signal);
      else pending ??= signal;
    });
  }
}

/** From now on stop signals go to `fn`; one that came earlier is handed to it at once. */
export function onStopSignal(fn: (signal: Signal) => void): void {
  catchStopSignals();
  handler = fn;
  if (pending) {
    const signal = pending;
    pending = undefined;
    fn(signal);
  }
}
