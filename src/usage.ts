import { sql } from 'kysely';
import type { CatalogueDb } from './catalogue/db.ts';
import type { RenditionEngine } from './renditions/engine.ts';

/** Days the statistics cover, today included. */
export const USAGE_DAYS = 30;
/** Covers of each flush interval whose counts are kept: the most requested ones; the rest count only in the day's total. */
export const TOP_COVERS_PER_FLUSH = 200;
/** Covers the statistics list as the most requested. */
const TOP_COVERS_SHOWN = 10;

export interface UsageDay {
  day: string;
  requests: number;
  renditions: number;
}

export interface UsageReport {
  days: UsageDay[];
  topCovers: { id: number; requests: number }[];
  covers: { category: string; status: string; deleted: boolean; count: number }[];
}

/** `2026-12-03`, in UTC: the day a count is kept under. */
export function utcDay(time: number): string {
  return new Date(time).toISOString().slice(0, 10);
}

/**
 * The server's own usage counters: image requests (in total and per cover) and renditions made, per UTC day, kept in
 * the catalogue database so they outlive restarts and add up over instances. Counting is two additions in memory on
 * the request path; every `flushMs` the counts since the last flush are added to the database in one transaction
 * (a request counted just before midnight may land on the next day). Per cover only the interval's most requested
 * covers are written, so the table grows with what is popular, not with the size of the catalogue.
 */
export class UsageCounter {
  private requests = 0;
  private byCover = new Map<number, number>();
  private renditionsFlushed: number;
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();

  private readonly db: CatalogueDb;
  private readonly renditions: RenditionEngine;
  private readonly now: () => number;

  constructor(db: CatalogueDb, renditions: RenditionEngine, now: () => number = Date.now) {
    this.db = db;
    this.renditions = renditions;
    this.now = now;
    this.renditionsFlushed = renditions.stats.made;
  }

  /** One image answered (a 304 too); `coverId` when the image is a cover. Called on the request path: keep it cheap. */
  count(coverId: number | undefined): void {
    this.requests++;
    if (coverId !== undefined) this.byCover.set(coverId, (this.byCover.get(coverId) ?? 0) + 1);
  }

  /** Flush every `flushMs` until close(); the timer never keeps the process alive. */
  start(flushMs: number): void {
    this.timer ??= setInterval(() => void this.flush().catch(() => undefined), flushMs);
    this.timer.unref();
  }

  /** Add what was counted since the last flush to today's rows. A failed write puts the counts back for the next one. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(() => this.write());
    return this.flushing;
  }

  private async write(): Promise<void> {
    const made = this.renditions.stats.made;
    const renditions = made - this.renditionsFlushed;
    const requests = this.requests;
    if (requests === 0 && renditions === 0) return;
    const byCover = this.byCover;
    this.requests = 0;
    this.byCover = new Map();
    this.renditionsFlushed = made;
    const day = utcDay(this.now());
    const top = [...byCover].sort((a, b) => b[1] - a[1]).slice(0, TOP_COVERS_PER_FLUSH);
    try {
      await this.db.transaction().execute(async (tx) => {
        await tx
          .insertInto('usage_days')
          .values({ day, requests, renditions })
          .onConflict((conflict) => conflict.column('day').doUpdateSet({ requests: sql`usage_days.requests + excluded.requests`, renditions: sql`usage_days.renditions + excluded.renditions` }))
          .execute();
        if (top.length === 0) return;
        await tx
          .insertInto('usage_covers')
          .values(top.map(([coverId, count]) => ({ day, cover_id: coverId, requests: count })))
          .onConflict((conflict) => conflict.columns(['day', 'cover_id']).doUpdateSet({ requests: sql`usage_covers.requests + excluded.requests` }))
          .execute();
      });
    } catch (error) {
      this.requests += requests;
      this.renditionsFlushed -= renditions;
      for (const [coverId, count] of byCover) this.byCover.set(coverId, (this.byCover.get(coverId) ?? 0) + count);
      throw error;
    }
  }

  /** Stop the timer and write what is left. */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.flush();
  }

  /** The last USAGE_DAYS days (every day listed, zero when nothing was counted), the most requested covers, and the catalogue by kind and state. */
  async report(): Promise<UsageReport> {
    const today = this.now();
    const days = Array.from({ length: USAGE_DAYS }, (_, index) => utcDay(today - (USAGE_DAYS - 1 - index) * 86_400_000));
    const rows = await this.db.selectFrom('usage_days').select(['day', 'requests', 'renditions']).where('day', '>=', days[0]!).execute();
    const byDay = new Map(rows.map((row) => [row.day, row]));
    const top = await this.db
      .selectFrom('usage_covers')
      .select((eb) => ['cover_id', eb.fn.sum<number>('requests').as('total')])
      .where('day', '>=', days[0]!)
      .groupBy('cover_id')
      .orderBy('total', 'desc')
      .orderBy('cover_id')
      .limit(TOP_COVERS_SHOWN)
      .execute();
    const covers = await this.db
      .selectFrom('covers')
      .select((eb) => ['category', 'status', 'deleted', eb.fn.countAll<number>().as('count')])
      .groupBy(['category', 'status', 'deleted'])
      .execute();
    return {
      days: days.map((day) => ({ day, requests: Number(byDay.get(day)?.requests ?? 0), renditions: Number(byDay.get(day)?.renditions ?? 0) })),
      topCovers: top.map((row) => ({ id: Number(row.cover_id), requests: Number(row.total) })),
      covers: covers.map((row) => ({ category: row.category, status: row.status, deleted: Boolean(Number(row.deleted)), count: Number(row.count) })),
    };
  }
}
