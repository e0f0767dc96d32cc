import { JacketError } from '../errors.ts';

/**
 * A bounded work queue: at most `concurrency` jobs run, at most `waitLimit` wait. Past that a job is refused with
 * 503 + Retry-After rather than piling up memory.
 */
export class WorkQueue {
  private running = 0;
  private readonly waiting: Array<() => void> = [];
  private readonly concurrency: number;
  private readonly waitLimit: number;

  constructor(concurrency: number, waitLimit: number) {
    this.concurrency = concurrency;
    this.waitLimit = waitLimit;
  }

  get depth(): number {
    return this.running + this.waiting.length;
  }

  get waitingCount(): number {
    return this.waiting.length;
  }

  async run<T>(job: () => Promise<T>): Promise<T> {
    if (this.running >= this.concurrency) {
      if (this.waiting.length >= this.waitLimit) {
        throw new JacketError(503, 'busy', 'The image workers are busy; try again in a moment.', { 'retry-after': '1' });
      }
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.running++;
    }
    try {
      return await job();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }
}
