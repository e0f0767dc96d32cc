import { JacketError } from '../errors.ts';
import { safeFetch, type FetchedResource } from '../fetch/safe-fetch.ts';
import type { Rate } from '../limits/rate.ts';
import { retryAfterMs, UpstreamGate } from './gate.ts';

export interface UpstreamOptions {
  base: string;
  rate: Rate;
  timeoutMs: number;
  maxBytes: number;
  /** May a redirect send us to a private or loopback address on another host (JACKET_SOURCE_URL_ALLOW_PRIVATE)? */
  allowPrivateRedirects: boolean;
}

/** An upstream answer that is neither the thing asked for nor a clear "not there": a miss answers 503, not 5xx noise. */
export function upstreamFailed(status: number, what: string): JacketError {
  return new JacketError(503, 'upstream_failed', `The upstream answered ${status} for ${what}.`, { 'retry-after': '30' });
}

/** What the upstream has but this server will not take (not an image, too large, too many pixels…): treated as absent. */
export function isUnusable(error: unknown): boolean {
  return error instanceof JacketError && error.status < 500;
}

/**
 * One upstream cover service, asked politely: every HTTP request (redirect hops included) passes the rate gate,
 * 429/503 answers push later requests back by their Retry-After, and every request has a deadline.
 */
export class Upstream {
  readonly base: string;
  /** The configured upstream's host name: the only one a request may reach on a private address by default. */
  private readonly host: string;
  private readonly gate: UpstreamGate;
  private readonly options: UpstreamOptions;
  /** Requests sent to the upstream (for metrics and tests). */
  requests = 0;

  constructor(options: UpstreamOptions) {
    this.options = options;
    this.base = options.base.replace(/\/+$/, '');
    this.host = new URL(this.base).hostname;
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
            // The upstream is the operator's own choice, not user input: any host, and private networks on its own
            // host. Where it redirects to is the upstream's choice, held to the rules of any download.
            allowHosts: ['*'],
            allowPrivate: new URL(url).hostname === this.host || this.options.allowPrivateRedirects,
            timeoutMs: this.options.timeoutMs,
            maxBytes: this.options.maxBytes,
            maxRedirects: 0,
            headers,
          });
        } catch (error) {
          // Too large to accept: the upstream has it, but we cannot take it; the caller treats it as absent.
          if (error instanceof JacketError && error.status === 413) throw new JacketError(404, 'upstream_unusable', error.message);
          if (hop > 0 && error instanceof JacketError && error.code === 'source_url_private') {
            throw new JacketError(503, 'upstream_redirect_refused', `The upstream redirected to a non-public address, not followed: ${error.message}`, {
              'retry-after': '30',
            });
          }
          throw new JacketError(503, 'upstream_unreachable', `The upstream cover service cannot be reached: ${(error as Error).message}`, {
            'retry-after': '30',
          });
        }
      });
      // 429 and 503 — and any refusal that says when to come back (a Jacket upstream's rate limit answers 403 with
      // Retry-After) — hold back every later request to this upstream.
      if (response.status === 429 || response.status === 503 || (response.status >= 400 && response.headers['retry-after'])) {
        const waitMs = retryAfterMs(response.headers['retry-after'], 5000);
        this.gate.backOff(waitMs);
        throw new JacketError(503, 'upstream_busy', `The upstream answered ${response.status}; backing off.`, {
          'retry-after': String(Math.max(1, Math.ceil(waitMs / 1000))),
        });
      }
      const location = response.headers.location;
      if ([301, 302, 303, 307, 308].includes(response.status) && location) {
        url = new URL(location, url).toString();
        continue;
      }
      return response;
    }
    throw new JacketError(503, 'upstream_failed', 'The upstream redirected too many times.', { 'retry-after': '30' });
  }
}
