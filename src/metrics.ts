import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { RenditionEngine } from './renditions/engine.ts';

/** Buckets for I/O that is usually fast (local disk) but can stall (network storage, upstream services). */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Buckets of http_request_duration_seconds. */
const REQUEST_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

type RequestLabels = { method: string; route: string; status_code: string };

/**
 * Requests of one method, route and status answered outside Fastify (the hot table), counted in plain numbers: one
 * increment, one addition and a bucket found in a short loop. prom-client's own `inc` and `observe` cost more than
 * a whole hot answer's other bookkeeping (a label hash and a map lookup each, per request). The tally is folded into
 * http_requests_total and http_request_duration_seconds whenever they are read, so a scrape sees every request.
 */
export class RequestTally {
  readonly labels: RequestLabels;
  count = 0;
  sum = 0;
  /** Requests per bucket of REQUEST_BUCKETS (not cumulative); slower ones are only in `count`. */
  readonly buckets = new Array<number>(REQUEST_BUCKETS.length).fill(0);

  constructor(labels: RequestLabels) {
    this.labels = labels;
  }

  observe(seconds: number): void {
    this.count++;
    this.sum += seconds;
    let i = 0;
    while (i < REQUEST_BUCKETS.length && seconds > REQUEST_BUCKETS[i]!) i++;
    if (i < REQUEST_BUCKETS.length) this.buckets[i]!++;
  }
}

/** What prom-client 15 keeps per label set of a histogram (its `hashMap` values), which folding adds to. */
interface HistogramEntry {
  labels: Record<string, string>;
  bucketValues: Record<string, number>;
  sum: number;
  count: number;
}

/**
 * The Prometheus metrics of one Jacket instance. Each instance has its own Registry (never prom-client's global one)
 * so several in-process servers (tests, embedding) do not clash. Other layers reach it as `services.metrics`:
 *
 *   services.metrics.observeUpstream('musicbrainz', () => fetch(…))   // times a call to a service we depend on
 *   services.metrics.limitRefusals.inc({ limit: 'keyed-quota' })      // a request refused by a rate limit / quota
 */
/** Run `call` and stop its timer with the outcome label: `ok`, or `error` when it threw. */
async function timed<T>(end: (labels: { outcome: string }) => void, call: () => Promise<T>): Promise<T> {
  try {
    const result = await call();
    end({ outcome: 'ok' });
    return result;
  } catch (error) {
    end({ outcome: 'error' });
    throw error;
  }
}

export class Metrics {
  readonly registry = new Registry();
  readonly httpRequests: Counter<'method' | 'route' | 'status_code'>;
  readonly httpRequestDuration: Histogram<'method' | 'route' | 'status_code'>;
  readonly blobStoreDuration: Histogram<'operation' | 'outcome'>;
  /** Latency of calls to services Jacket depends on (MusicBrainz, Cover Art Archive, source_url hosts …). */
  readonly upstreamDuration: Histogram<'upstream' | 'outcome'>;
  /** Requests refused by a rate limit or quota; `limit` names which one. */
  readonly limitRefusals: Counter<'limit'>;

  constructor(options: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    this.httpRequests = new Counter({
      name: 'http_requests_total',
      help: 'HTTP requests answered, by method, route pattern and status code.',
      labelNames: ['method', 'route', 'status_code'],
      registers,
      collect: () => this.foldRequestTallies(),
    });
    this.httpRequestDuration = new Histogram({
      name: 'http_request_duration_seconds',
      help: 'Time from receiving a request to sending the last byte of its answer, by method, route pattern and status code.',
      labelNames: ['method', 'route', 'status_code'],
      buckets: REQUEST_BUCKETS,
      registers,
      collect: () => this.foldRequestTallies(),
    });
    this.blobStoreDuration = new Histogram({
      name: 'blob_store_operation_duration_seconds',
      help: 'Blob store operation latency, by operation (get, put, stat, touch, delete, ping) and outcome (ok, error).',
      labelNames: ['operation', 'outcome'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.upstreamDuration = new Histogram({
      name: 'upstream_request_duration_seconds',
      help: 'Latency of requests to upstream services, by upstream and outcome (ok, error).',
      labelNames: ['upstream', 'outcome'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.limitRefusals = new Counter({
      name: 'limit_refusals_total',
      help: 'Requests refused by a rate limit or quota, by limit.',
      labelNames: ['limit'],
      registers,
    });
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }

  private readonly tallies = new Map<string, RequestTally>();

  /** The tally for requests of this method, route and status answered outside Fastify (one per label set). */
  requestTally(method: string, route: string, statusCode: number): RequestTally {
    const key = `${method} ${statusCode} ${route}`;
    let tally = this.tallies.get(key);
    if (!tally) {
      tally = new RequestTally({ method, route, status_code: String(statusCode) });
      this.tallies.set(key, tally);
    }
    return tally;
  }

  /**
   * Add what the tallies counted since the last fold to both request metrics, then zero them. Runs when either
   * metric is read (its `collect`), before its values are; folding both at once keeps the two in step.
   */
  private foldRequestTallies(): void {
    for (const tally of this.tallies.values()) {
      if (tally.count === 0) continue;
      // The histogram's entry first: if it cannot be had, nothing is counted twice on the next scrape.
      const entry = this.histogramEntry(tally.labels);
      this.httpRequests.inc(tally.labels, tally.count);
      entry.count += tally.count;
      entry.sum += tally.sum;
      for (let i = 0; i < REQUEST_BUCKETS.length; i++) entry.bucketValues[REQUEST_BUCKETS[i]!]! += tally.buckets[i]!;
      tally.count = 0;
      tally.sum = 0;
      tally.buckets.fill(0);
    }
  }

  /**
   * The duration histogram's entry for one label set, made if it has none yet. prom-client has no call that adds
   * many observations at once, so folding adds to the entry it keeps (test/operations.test.ts checks the result).
   */
  private histogramEntry(labels: RequestLabels): HistogramEntry {
    const histogram = this.httpRequestDuration as unknown as { hashMap: Record<string, HistogramEntry> };
    const find = () =>
      Object.values(histogram.hashMap).find(
        (entry) => entry.labels.method === labels.method && entry.labels.route === labels.route && entry.labels.status_code === labels.status_code,
      );
    let entry = find();
    if (!entry) {
      this.httpRequestDuration.zero(labels);
      entry = find();
    }
    if (!entry || typeof entry.bucketValues[REQUEST_BUCKETS[0]!] !== 'number') throw new Error('prom-client keeps histogram values in a form Metrics does not know');
    return entry;
  }

  /** Time a call to an upstream service; the outcome label records whether it threw. */
  observeUpstream<T>(upstream: string, call: () => Promise<T>): Promise<T> {
    return timed(this.upstreamDuration.startTimer({ upstream }), call);
  }

  /**
   * Rendition cache and image-queue figures, read from the engine only when Prometheus scrapes (no bookkeeping on
   * the hot path). A memory miss is a request answered from the store or made; a store miss is one that was made.
   */
  watchRenditions(engine: RenditionEngine): void {
    const registers = [this.registry];
    new Counter({
      name: 'rendition_hits_total',
      help: 'Renditions served from a cache tier (memory, store).',
      labelNames: ['tier'],
      registers,
      collect() {
        this.reset();
        this.inc({ tier: 'memory' }, engine.stats.memoryHits);
        this.inc({ tier: 'store' }, engine.stats.storeHits);
      },
    });
    new Counter({
      name: 'rendition_misses_total',
      help: 'Renditions not found in a cache tier (memory, store).',
      labelNames: ['tier'],
      registers,
      collect() {
        this.reset();
        this.inc({ tier: 'memory' }, engine.stats.storeHits + engine.stats.made);
        this.inc({ tier: 'store' }, engine.stats.made);
      },
    });
    new Counter({
      name: 'rendition_made_total',
      help: 'Renditions generated from an original.',
      registers,
      collect() {
        this.reset();
        this.inc(engine.stats.made);
      },
    });
    new Gauge({
      name: 'rendition_queue_depth',
      help: 'Image operations running or waiting for a worker.',
      registers,
      collect() {
        this.set(engine.queue.depth);
      },
    });
  }

  /** Time one blob store operation (MeasuredBlobStore calls it for each). */
  observeBlobStore<T>(operation: string, call: () => Promise<T>): Promise<T> {
    return timed(this.blobStoreDuration.startTimer({ operation }), call);
  }

  contentType(): string {
    return this.registry.contentType;
  }

  async render(): Promise<string> {
    return this.registry.metrics();
  }
}
