/** Small helpers to keep a bounded number of promises in flight. */

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
