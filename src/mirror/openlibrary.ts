import type { CatalogueDb } from '../catalogue/db.ts';
import type { Category, Cover, CoverCatalogue, IdentifierInput } from '../catalogue/covers.ts';
import type { Ingest } from '../ingest.ts';
import type { LimitStore } from '../limits/limit-store.ts';
import { CATEGORY_OLID_KIND, isEditionScheme, normaliseIdentifier, parseCoverId, parseOlid } from '../identifiers/index.ts';
import { singleFlight } from '../concurrency.ts';
import { isUnusable, upstreamFailed, type Upstream } from './upstream.ts';

interface UpstreamCoverJson {
  id?: unknown;
  olid?: unknown;
  author?: unknown;
}

/**
 * Mirror mode for the Open Library dialect: a local miss asks the upstream once (identical concurrent misses share
 * one request), stores the original as a normal cover with the upstream's id when it is free, attaches the
 * identifier that was asked for, and remembers absence for a while (negative cache).
 */
/** What the mirror stores through; `limits` is read at each use, since a shared store may replace the first one. */
export interface OpenLibraryMirrorParts {
  db: CatalogueDb;
  catalogue: CoverCatalogue;
  ingest: Ingest;
  limits: LimitStore;
}

export class OpenLibraryMirror {
  private readonly services: OpenLibraryMirrorParts;
  readonly upstream: Upstream;
  private readonly negativeTtlMs: number;
  private readonly inFlight = new Map<string, Promise<Cover | undefined>>();

  constructor(services: OpenLibraryMirrorParts, upstream: Upstream, negativeTtlMs: number) {
    this.services = services;
    this.upstream = upstream;
    this.negativeTtlMs = negativeTtlMs;
  }

  /** The lookup key in canonical form, or undefined when the value cannot be valid (no upstream request for it). */
  private canonical(key: string, value: string): string | undefined {
    if (key === 'id') return parseCoverId(value)?.toString();
    if (key === 'olid') return parseOlid(value)?.olid;
    return isEditionScheme(key) ? normaliseIdentifier(key, value) : undefined;
  }

  async fill(category: Category, key: string, value: string): Promise<Cover | undefined> {
    const canonical = this.canonical(key, value);
    if (canonical === undefined) return undefined;
    const cacheKey = `mirror-negative:${category}/${key}/${canonical}`;
    if (await this.services.limits.peek(cacheKey)) return undefined;
    return singleFlight(this.inFlight, cacheKey, () =>
      this.fetch(category, key, value, canonical, cacheKey).catch((error: unknown) => {
        // An upstream cover we cannot take (invalid image, over the limits) is absent as far as clients can tell.
        if (isUnusable(error)) return this.rememberAbsent(cacheKey);
        throw error;
      }),
    );
  }

  private async rememberAbsent(cacheKey: string): Promise<undefined> {
    await this.services.limits.increment(cacheKey, 1, Date.now() + this.negativeTtlMs);
    return undefined;
  }

  private async fetch(category: Category, key: string, rawValue: string, canonical: string, cacheKey: string): Promise<Cover | undefined> {
    const { catalogue, ingest } = this.services;
    const meta = await this.upstream.get(`/${category}/${key}/${encodeURIComponent(rawValue)}.json`);
    if (meta.status === 404) return this.rememberAbsent(cacheKey);
    if (meta.status !== 200) throw upstreamFailed(meta.status, 'the cover metadata');
    let json: UpstreamCoverJson;
    try {
      json = JSON.parse(meta.body.toString('utf8')) as UpstreamCoverJson;
    } catch {
      throw upstreamFailed(meta.status, 'the cover metadata (not JSON)');
    }
    const upstreamId = typeof json.id === 'number' && Number.isSafeInteger(json.id) && json.id > 0 ? json.id : undefined;
    if (!upstreamId) throw upstreamFailed(meta.status, 'the cover metadata (no cover id)');

    const identifiers: IdentifierInput[] = isEditionScheme(key) ? [{ scheme: key, value: canonical }] : [];
    const olidParsed = typeof json.olid === 'string' ? parseOlid(json.olid) : undefined;
    const olid = olidParsed && olidParsed.kind === CATEGORY_OLID_KIND[category] ? olidParsed.olid : undefined;

    // The same upstream cover may already be here, reached before through another key.
    const known = await this.services.db
      .selectFrom('mirror_entries')
      .select('cover_id')
      .where('upstream', '=', this.upstream.base)
      .where('upstream_id', '=', upstreamId)
      .executeTakeFirst();
    if (known) {
      const cover = await catalogue.visibleCover(Number(known.cover_id));
      if (cover) {
        await catalogue.write((trx) => catalogue.attachIdentifiers(trx, identifiers, { olid: cover.olid ?? undefined, coverId: cover.id }));
        return cover;
      }
    }

    const sourceUrl = `${this.upstream.base}/${category}/id/${upstreamId}.jpg`;
    const image = await this.upstream.get(`/${category}/id/${upstreamId}.jpg?default=false`);
    if (image.status === 404) return this.rememberAbsent(cacheKey);
    if (image.status !== 200) throw upstreamFailed(image.status, 'the cover image');
    // Validated exactly like an upload.
    const stored = await ingest.storeOriginal(image.body);
    const idTaken = await catalogue.getCover(upstreamId);
    const cover = await catalogue.addCover({
      category,
      olid,
      olidKind: olid ? CATEGORY_OLID_KIND[category] : undefined,
      // The stored original's key, hash, type and upright size.
      ...stored,
      sourceUrl,
      author: typeof json.author === 'string' ? json.author : undefined,
      identifiers,
      id: idTaken ? undefined : upstreamId,
    });
    await this.services.db
      .insertInto('mirror_entries')
      .values({ cover_id: cover.id, upstream: this.upstream.base, upstream_id: upstreamId, source_url: sourceUrl, fetched_at: Date.now() })
      .onConflict((oc) => oc.column('cover_id').doNothing())
      .execute();
    return cover;
  }

  /** Fetch a mirrored cover's original again; replaces the local bytes when the upstream's changed. */
  async refresh(coverId: number): Promise<{ changed: boolean } | undefined> {
    const entry = await this.services.db.selectFrom('mirror_entries').selectAll().where('cover_id', '=', coverId).executeTakeFirst();
    const cover = await this.services.catalogue.getCover(coverId);
    if (!entry || !cover) return undefined;
    const image = await this.upstream.get(`${entry.source_url}?default=false`);
    if (image.status !== 200) throw upstreamFailed(image.status, `cover ${entry.upstream_id}`);
    const stored = await this.services.ingest.storeOriginal(image.body);
    const changed = stored.sha256 !== cover.sha256;
    await this.services.catalogue.replaceOriginal(coverId, stored);
    await this.services.db.updateTable('mirror_entries').set({ fetched_at: Date.now() }).where('cover_id', '=', coverId).execute();
    return { changed };
  }

  /** Forget a mirrored cover entirely: the next request for it asks the upstream again. */
  async purge(coverId: number): Promise<boolean> {
    const entry = await this.services.db.selectFrom('mirror_entries').select('cover_id').where('cover_id', '=', coverId).executeTakeFirst();
    if (!entry) return false;
    const removed = await this.services.catalogue.removeCover(coverId, (trx) => trx.deleteFrom('mirror_entries').where('cover_id', '=', coverId).execute());
    return removed !== undefined;
  }
}
