import type { FastifyReply, FastifyRequest } from 'fastify';
import { isNotModified, setValidators, type Validators } from '../http/common.ts';
import { RENDITION_FORMATS, type RenditionFormat } from '../images/render.ts';
import type { Dimensions, OpenLibrarySize } from '../images/sizes.ts';
import type { QuotaReservation } from '../limits/rate.ts';
import type { OriginalRef, RenditionEngine } from '../renditions/engine.ts';
import type { UsageCounter } from '../usage.ts';
import { offerForMemory, type HotRule } from './hot-rule.ts';
import type { Resolver } from './resolve.ts';

/** A cover or a release image: where its original is, its upright size and its type. */
export interface DeliveredImage extends OriginalRef {
  mime: string;
}

/** What an image URL asks for: `original` bytes as stored, a rendition format, or `accept`: the format Accept prefers. */
export type AskedFormat = RenditionFormat | 'original' | 'accept';

/** The keyed quota rule: a rendition made from the original now takes a slot; one already made is free. */
export interface KeyedQuota {
  /** Take one of today's slots before making; undefined when none is left. */
  reserve(): Promise<QuotaReservation | undefined>;
  release(reservation: QuotaReservation): Promise<void>;
  /** Count one made without a reservation (it was thought stored, and was made after all). */
  record(): Promise<void>;
  /** The dialect's refusal when no slot is left (its status, its error style). */
  refuse(reply: FastifyReply): FastifyReply;
}

export interface ImageAnswer {
  image: DeliveredImage;
  format: AskedFormat;
  /** The rendition's size; ignored for the original. */
  target?: Dimensions;
  /** The entity tag of the bytes in the format that will be sent. */
  etag: (format: RenditionFormat | 'original') => string;
  lastModified?: number;
  cacheControl: string;
  /** Single byte ranges (206/416), with Accept-Ranges: the archive's file routes. */
  ranges?: boolean;
  quota?: KeyedQuota;
  /** Who may be given this answer again from memory (hot-rule.ts); never, when absent. */
  hot?: HotRule;
  /** The cover asked for (not a release image): counted per cover for the statistics. */
  coverId?: number;
}

/** Bytes made for one request and never stored (the IIIF dialect's arbitrary regions and sizes). */
export interface MadeAnswer {
  image: DeliveredImage;
  /** Their name in the memory cache; it contains the original's sha256 (see RenditionEngine.transient). */
  key: string;
  make: (original: Buffer | string) => Promise<Buffer>;
  mime: string;
  etag: string;
  cacheControl: string;
  /** Runs before bytes that are not in memory are made (the dialect's rate limit); may throw. */
  beforeMaking?: () => Promise<void>;
}

/** Modern formats first: when a client accepts several at the same quality, the smallest file wins. */
const PREFERENCE: RenditionFormat[] = ['avif', 'webp', 'jpeg'];

/**
 * The format for an Accept header: the highest q among AVIF, WebP and JPEG, ties going to the smaller format.
 * JPEG is the answer for no header, `*` wildcards, and anything that accepts none of the three (every client can
 * show a JPEG; a 406 for a cover would only break pages).
 */
export function negotiateFormat(accept: string | undefined): RenditionFormat {
  if (!accept) return 'jpeg';
  const quality: Record<RenditionFormat, number> = { avif: 0, webp: 0, jpeg: 0 };
  let wildcard = 0;
  for (const part of accept.split(',')) {
    const [range = '', ...params] = part.trim().toLowerCase().split(';');
    const qParam = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    const q = qParam ? Number(qParam.slice(2)) : 1;
    if (!Number.isFinite(q)) continue;
    const mediaRange = range.trim();
    if (mediaRange === 'image/avif') quality.avif = Math.max(quality.avif, q);
    else if (mediaRange === 'image/webp') quality.webp = Math.max(quality.webp, q);
    else if (mediaRange === 'image/jpeg' || mediaRange === 'image/jpg') quality.jpeg = Math.max(quality.jpeg, q);
    else if (mediaRange === 'image/*' || mediaRange === '*/*') wildcard = Math.max(wildcard, q);
  }
  // A wildcard stands for JPEG only: browsers send `image/*` without being able to show every image format.
  quality.jpeg = Math.max(quality.jpeg, wildcard);
  const top = Math.max(...PREFERENCE.map((format) => quality[format]));
  return top > 0 ? PREFERENCE.find((format) => quality[format] === top)! : 'jpeg';
}

/** The entity tag of an Open Library size (`"12-m"`, `"12-m.webp"`; `"12-"` for the original): one per rendition. */
export function sizeTag(id: number, size: OpenLibrarySize | undefined, format: RenditionFormat | 'original'): string {
  const suffix = format === 'jpeg' || format === 'original' ? '' : `.${RENDITION_FORMATS[format].extension}`;
  return `"${id}-${size?.toLowerCase() ?? ''}${suffix}"`;
}

/** The byte range a Range header asks of `length` bytes: the range, `unsatisfiable`, or undefined for the whole. */
function byteRange(range: string | undefined, length: number): { start: number; end: number } | 'unsatisfiable' | undefined {
  const match = range === undefined ? null : /^bytes=(\d*)-(\d*)$/.exec(range.trim());
  if (!match || (match[1] === '' && match[2] === '')) return undefined;
  const start = match[1] === '' ? Math.max(0, length - Number(match[2])) : Number(match[1]);
  const end = match[1] === '' || match[2] === '' ? length - 1 : Math.min(Number(match[2]), length - 1);
  return start >= length || start > end ? 'unsatisfiable' : { start, end };
}

/**
 * Answers image requests for every dialect: the validators decided from the row, a 304 before any image work or
 * blob read, then the original or the rendition (memory, store, or made on the queue, under the keyed quota rule),
 * in the asked or negotiated format, whole or as one byte range. Dialects decide which image and how its URL names
 * sizes and tags; they write no image response themselves.
 */
export class Delivery {
  /** Identifier → image, for every dialect (one cache, the mirror's fill). */
  readonly resolve: Resolver;
  private readonly renditions: RenditionEngine;
  private readonly usage: UsageCounter | undefined;

  constructor(options: { resolver: Resolver; renditions: RenditionEngine; usage?: UsageCounter }) {
    this.resolve = options.resolver;
    this.renditions = options.renditions;
    this.usage = options.usage;
  }

  async answer(request: FastifyRequest, reply: FastifyReply, asked: ImageAnswer): Promise<FastifyReply> {
    const negotiated = asked.format === 'accept';
    const format: RenditionFormat | 'original' = asked.format === 'accept' ? negotiateFormat(request.headers.accept) : asked.format;
    const validators: Validators = { etag: asked.etag(format), lastModified: asked.lastModified };
    if (negotiated) reply.header('vary', 'Accept');
    this.usage?.count(asked.coverId);
    if (isNotModified(request.headers, validators)) {
      this.describe(reply, validators, asked);
      return reply.code(304).send();
    }
    const bytes = await this.bytes(asked, format);
    if (bytes === undefined) return asked.quota!.refuse(reply);
    this.describe(reply, validators, asked);
    reply.type(format === 'original' ? asked.image.mime : RENDITION_FORMATS[format].mime);
    if (asked.ranges) {
      const ifRange = request.headers['if-range'];
      const range = ifRange === undefined || ifRange === validators.etag ? byteRange(request.headers.range, bytes.length) : undefined;
      if (range === 'unsatisfiable') {
        return reply.code(416).header('content-range', `bytes */${bytes.length}`).type('text/plain; charset=utf-8').send('Range Not Satisfiable\n');
      }
      if (range) return reply.code(206).header('content-range', `bytes ${range.start}-${range.end}/${bytes.length}`).send(bytes.subarray(range.start, range.end + 1));
    }
    if (asked.hot) offerForMemory(request.raw, asked.hot, asked.coverId);
    return reply.send(bytes);
  }

  /** Bytes made on the queue from the original, kept in memory only: a 304 first, then memory, then made. */
  async answerMade(request: FastifyRequest, reply: FastifyReply, asked: MadeAnswer): Promise<FastifyReply> {
    const validators: Validators = { etag: asked.etag };
    setValidators(reply, validators, asked.cacheControl);
    this.usage?.count(undefined);
    if (isNotModified(request.headers, validators)) return reply.code(304).send();
    let bytes = this.renditions.cachedTransient(asked.key);
    if (!bytes) {
      await asked.beforeMaking?.();
      bytes = await this.renditions.transient(asked.image, asked.key, asked.make);
    }
    return reply.type(asked.mime).send(bytes);
  }

  private describe(reply: FastifyReply, validators: Validators, asked: ImageAnswer): void {
    setValidators(reply, validators, asked.cacheControl);
    if (asked.ranges) reply.header('accept-ranges', 'bytes');
  }

  /** The bytes to send; undefined when the keyed quota has no slot left for a rendition still to be made. */
  private async bytes(asked: ImageAnswer, format: RenditionFormat | 'original'): Promise<Buffer | undefined> {
    const { image, quota } = asked;
    if (format === 'original') return this.renditions.requireOriginal(image);
    const target = asked.target!;
    if (!quota) return this.renditions.bytes(image, target, format);
    const cached = this.renditions.peek(image, target, format);
    if (cached) return cached;
    if (await this.renditions.isMade(image, target, format)) {
      // Already made once: free, even over the limit (unless it vanished from the store and was made again).
      const rendition = await this.renditions.get(image, target, format);
      if (rendition.made) await quota.record();
      return rendition.bytes;
    }
    const reservation = await quota.reserve();
    if (!reservation) return undefined;
    try {
      const rendition = await this.renditions.get(image, target, format);
      // Another request made it first (single-flight), or it was stored meanwhile: not counted.
      if (!rendition.made) await quota.release(reservation);
      return rendition.bytes;
    } catch (error) {
      await quota.release(reservation);
      throw error;
    }
  }
}
