/**
 * Change notifications: after a write, every in-memory cache that could answer from stale data (identifier
 * resolutions, rendition bytes of a deleted original) drops it. Local delivery here; the Redis implementation
 * (scale-out) carries the same messages to every instance.
 */
export type ChangeMessage =
  | { type: 'covers' }
  | { type: 'cover-deleted'; sha256: string }
  | { type: 'releases' }
  | { type: 'keys' };

export interface ChangeBus {
  publish(message: ChangeMessage): void;
  subscribe(handler: (message: ChangeMessage) => void): void;
  close(): Promise<void>;
}

export class LocalChangeBus implements ChangeBus {
  private readonly handlers: Array<(message: ChangeMessage) => void> = [];

  publish(message: ChangeMessage): void {
    for (const handler of this.handlers) handler(message);
  }

  subscribe(handler: (message: ChangeMessage) => void): void {
    this.handlers.push(handler);
  }

  async close(): Promise<void> {
    this.handlers.length = 0;
  }
}
