import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { ChangeBus, ChangeMessage } from './changes.ts';
import { closeRedis, connectRedis, silentLog, type RedisLog } from './redis/connect.ts';

export interface RedisChangeBusOptions {
  url: string;
  /** Prefix of the channel name, e.g. `jacket:`; the bus adds `changes`. */
  prefix: string;
  log?: RedisLog;
}

interface Envelope {
  origin: string;
  message: ChangeMessage;
}

/**
 * Change messages for every instance: delivered here at once, and to the other instances through Redis pub/sub
 * (milliseconds). Pub/sub keeps nothing for a disconnected subscriber, so after a reconnect the instance drops its
 * cached resolutions as if it had been told of a change.
 */
export class RedisChangeBus implements ChangeBus {
  readonly channel: string;
  readonly origin = randomUUID();
  private readonly publisher: Redis;
  private readonly subscriber: Redis;
  private readonly handlers: Array<(message: ChangeMessage) => void> = [];
  private readonly log: RedisLog;
  private readonly subscribed: Promise<boolean>;
  private wasConnected = false;
  private lost = false;

  constructor(options: RedisChangeBusOptions) {
    this.channel = `${options.prefix}changes`;
    this.log = options.log ?? silentLog;
    this.publisher = connectRedis(options.url);
    // The subscriber re-subscribes by itself after a reconnect; its SUBSCRIBE may wait for the first connection.
    this.subscriber = connectRedis(options.url, { enableOfflineQueue: true, commandTimeout: undefined });
    this.subscriber.on('message', (channel: string, raw: string) => {
      if (channel !== this.channel) return;
      let envelope: Envelope;
      try {
        envelope = JSON.parse(raw) as Envelope;
      } catch {
        return;
      }
      if (envelope.origin !== this.origin && envelope.message && typeof envelope.message.type === 'string') this.deliver(envelope.message);
    });
    this.subscriber.on('ready', () => {
      if (this.lost) {
        this.lost = false;
        this.log.info('Redis is reachable again: cache invalidations reach every instance again');
        // Messages sent while we were away are gone: drop what they could have invalidated.
        this.deliver({ type: 'covers' });
        this.deliver({ type: 'releases' });
        this.deliver({ type: 'keys' });
      }
      this.wasConnected = true;
    });
    this.subscriber.on('close', () => {
      if (this.lost || !this.wasConnected) return;
      this.lost = true;
      this.log.warn('Redis unavailable: changes on other instances are not seen here until it is back (cached bytes of deleted covers may linger)');
    });
    this.subscribed = this.subscriber.subscribe(this.channel).then(
      () => true,
      () => false,
    );
  }

  /** Wait (at most `timeoutMs`) until this instance hears other instances' messages. */
  async connected(timeoutMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    const result = await Promise.race([this.subscribed, timeout]);
    clearTimeout(timer);
    return result;
  }

  private deliver(message: ChangeMessage): void {
    for (const handler of this.handlers) {
      try {
        handler(message);
      } catch (error) {
        this.log.warn(`change handler failed: ${(error as Error).message}`);
      }
    }
  }

  publish(message: ChangeMessage): void {
    this.deliver(message);
    if (this.publisher.status !== 'ready') return;
    const envelope: Envelope = { origin: this.origin, message };
    this.publisher.publish(this.channel, JSON.stringify(envelope)).catch((error: Error) => {
      this.log.warn(`could not tell other instances of a change: ${error.message}`);
    });
  }

  subscribe(handler: (message: ChangeMessage) => void): void {
    this.handlers.push(handler);
  }

  async close(): Promise<void> {
    this.handlers.length = 0;
    this.subscriber.removeAllListeners('close');
    await Promise.all([closeRedis(this.subscriber), closeRedis(this.publisher)]);
  }
}
