// The cost of counting a request for the statistics (src/usage.ts) on the hot path, as a ratio to the request-metrics
// bookkeeping every hot hit already does (RequestTally.observe), measured in the same run.
//
//   node bench/usage-count.ts
import { RequestTally } from '../src/metrics.ts';
import { UsageCounter } from '../src/usage.ts';

const CALLS = 2_000_000;
const ROUNDS = 9;
/** Covers asked for in turn: the per-cover map holds this many entries, as a busy flush interval would. */
const COVERS = 10_000;

function nsPerCall(run: () => void): number {
  const started = process.hrtime.bigint();
  run();
  return Number(process.hrtime.bigint() - started) / CALLS;
}

// Neither touches the database: counting is in memory, the flush is not measured here.
const counter = new UsageCounter({} as never, { stats: { made: 0 } } as never);
const tally = new RequestTally({ method: 'GET', route: '/b/:key/:file', status_code: '200' });
const ratios: number[] = [];
const counts: number[] = [];
const observes: number[] = [];
for (let round = 0; round < ROUNDS; round++) {
  const count = nsPerCall(() => {
    for (let i = 0; i < CALLS; i++) counter.count(i % COVERS);
  });
  const observe = nsPerCall(() => {
    for (let i = 0; i < CALLS; i++) tally.observe(0.0002);
  });
  counts.push(count);
  observes.push(observe);
  ratios.push(count / observe);
}
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
console.log(`count(): ${median(counts).toFixed(1)} ns, RequestTally.observe(): ${median(observes).toFixed(1)} ns, ratio ${median(ratios).toFixed(2)}× (medians of ${ROUNDS} rounds of ${CALLS.toLocaleString()} calls)`);
