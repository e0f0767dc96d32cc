/** Small helpers for promises in flight: bounded concurrency, one call per key. */

/** Run `fn` over `items` with at most `concurrency` at once; results in input order. */
export async function mapLimited<T, R>(items: readonly T[], concurrency: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index]!, index);
    }
  });
  await Promise.all(workers);
  return results;
}

/** Map an async stream with up to `concurrency` calls in flight, yielding results in source order. */
export async function* mapOrdered<T, R>(source: AsyncIterable<T>, concurrency: number, fn: (item: T) => Promise<R>): AsyncGenerator<R> {
  const window: Array<Promise<R>> = [];
  for await (const item of source) {
    const result = fn(item);
    // Rejections surface when the result is awaited in order below; this only avoids an unhandled-rejection crash.
    result.catch(() => {});
    window.push(result);
    if (window.length >= concurrency) yield await window.shift()!;
  }
  while (window.length > 0) yield await window.shift()!;
}

/** Join the call already running under `key`, or start one; it is forgotten once it settles. */
export function singleFlight<T>(inFlight: Map<string, Promise<T>>, key: string, start: () => Promise<T>): Promise<T> {
  const running = inFlight.get(key);
  if (running) return running;
  const work = start().finally(() => inFlight.delete(key));
  inFlight.set(key, work);
  return work;
}
