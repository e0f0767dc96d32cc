import { JacketError } from '../errors.ts';
import { safeFetch, type FetchedResource } from '../fetch/safe-fetch.ts';
import type { Rate } from '../limits/rate.ts';
import { retryAfterMs, UpstreamGate } from './gate.ts';

export interface UpstreamOptions {
  base: string;
  rate: Rate;
  timeoutMs: number;
  maxBytes: number;
}

/**
 * One upstream cover service, asked politely: every HTTP request (redirect hops included) passes the rate gate,
 * 429/503 answers push later requests back by their Retry-After, and every request has a deadline.
 */
export class Upstream {
  readonly base: string;
  private readonly gate: UpstreamGate;
  private readonly options: UpstreamOptions;
  /** Requests sent to the upstream (for metrics and tests). */
  requests = 0;

  constructor(options: UpstreamOptions) {
    this.options = options;
    this.base = options.base.replace(/\/+$/, '');
    this.gate = new UpstreamGate(options.rate, options.timeoutMs);
  }

  /** GET a path (or absolute URL) of the upstream, following up to 5 redirects, each one gated. */
  async get(pathOrUrl: string, redirects = 5, headers: Record<string, string> = {}): Promise<FetchedResource> {
    let url = /^https?:\/\//i.test(pathOrUrl) ? pathOrUrl : this.base + pathOrUrl;
    for (let hop = 0; hop <= redirects; hop++) {
      const response = await this.gate.schedule(async () => {
        this.requests++;
        try {
          return await safeFetch(url, {
            // The upstream is the operator's own choice, not user input: any host, private networks included.
            allowHosts: ['*'],
            allowPrivate: true,
            timeoutMs: this.options.timeoutMs,
            maxBytes: this.options.maxBytes,
            maxRedirects: 0,
            headers,
          });
        } catch (error) {
          if (error instanceof JacketError && error.status === 413) throw error;
          throw new JacketError(503, 'upstream_unreachable', `The upstream cover service cannot be reached: ${(error as Error).message}`, {
            'retry-after': '30',
          });
        }
      });
      if (response.status === 429 || response.status === 503) {
        this.gate.backOff(retryAfterMs(response.headers['retry-after'], 5000));
        throw new JacketError(503, 'upstream_busy', `The upstream answered ${response.status}; backing off.`, {
          'retry-after': String(Math.ceil(retryAfterMs(response.headers['retry-after'], 5000) / 1000)),
        });
      }
      const location = response.headers.location;
      if ([301, 302, 303, 307, 308].includes(response.status) && location) {
        url = new URL(location, url).toString();
        continue;
      }
      return response;
    }
    throw new JacketError(502, 'upstream_redirects', 'The upstream redirected too many times.');
  }
}
