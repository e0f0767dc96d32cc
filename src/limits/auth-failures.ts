import type { FastifyRequest } from 'fastify';
import { JacketError } from '../errors.ts';
import type { LimitStore } from './limit-store.ts';
import { RateLimiter, type Rate } from './rate.ts';

/**
 * Wrong credentials per client address (JACKET_AUTH_FAILURE_LIMIT): after a burst of wrong admin tokens or
 * developer keys, the client's next credentials are not even checked and it gets 429 with Retry-After until the
 * window has moved on, so guessing runs at the limit's pace, not the server's. Counted in the limit store: shared by
 * every instance when Redis is configured. A request without credentials is not a guess and is not counted.
 */
export class AuthFailures {
  private readonly limiter: RateLimiter | undefined;

  constructor(rate: Rate | undefined, store: LimitStore) {
    this.limiter = rate ? new RateLimiter('auth-failures', rate, store) : undefined;
  }

  /** Throws the 429 when this client's next wrong credential would be over the limit. */
  async refuseIfOver(request: FastifyRequest): Promise<void> {
    const decision = await this.limiter?.wouldAllow(addressOf(request));
    if (decision && !decision.allowed) {
      throw new JacketError(
        429,
        'too_many_failures',
        `Too many wrong credentials from this address: at most ${decision.limit} per window; try again in ${decision.retryAfter} s.`,
        { 'retry-after': String(decision.retryAfter) },
      );
    }
  }

  /** Count one wrong credential of this client. */
  async failed(request: FastifyRequest): Promise<void> {
    await this.limiter?.hit(addressOf(request));
  }
}

/** The client's address as the other limits take it (the trusted proxy's client when JACKET_TRUST_PROXY=true). */
function addressOf(request: FastifyRequest): string {
  return request.ip || request.socket.remoteAddress || 'unknown';
}
