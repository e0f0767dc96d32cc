import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Services } from '../services.ts';
import { BACK_TYPE, firstOfType, FRONT_TYPE, typeNames, type ReleaseImage } from '../catalogue/releases.ts';
import { ANYONE, offerForMemory } from '../delivery/hot-rule.ts';
import { Resolver } from '../delivery/resolve.ts';
import { JacketError } from '../errors.ts';
import { parseMbid } from '../identifiers/index.ts';
import { extensionForMime } from '../images/inspect.ts';
import { RENDITION_FORMATS, type RenditionFormat } from '../images/render.ts';
import { CAA_THUMBNAIL_SIZES, fitLongestSide } from '../images/sizes.ts';
import { isNotModified, LONG_CACHE, publicBase, setValidators } from './common.ts';

export type ThumbnailSize = (typeof CAA_THUMBNAIL_SIZES)[number];

/** What the last segment of `/release/{mbid}/{segment}` asks for. */
export interface ArtSegment {
  selector: 'front' | 'back' | number;
  size?: ThumbnailSize;
  /** JPEG unless a thumbnail was asked for with `.webp` or `.avif` (our extension of the protocol). */
  format: RenditionFormat;
}

const ALLOW = 'GET, HEAD, OPTIONS';

/** `250`, `500` or `1200` as a thumbnail size; undefined for anything else. */
function thumbnailSize(text: string): ThumbnailSize | undefined {
  return CAA_THUMBNAIL_SIZES.find((candidate) => String(candidate) === text);
}

/**
 * The last segment of a GET, read as the original service reads it: `front…` and `back…` by their start, else an id
 * from the leading digits; the text after the rightmost dash names a thumbnail when it starts with 250, 500 or 1200,
 * and anything else there (`-small`, `-large`, `-100`) means the full-size image. Undefined when there is no id (→ 400).
 */
export function parseArtSegment(segment: string): ArtSegment | undefined {
  const digits = /^\d+/.exec(segment)?.[0];
  const selector = segment.startsWith('front') ? 'front' : segment.startsWith('back') ? 'back' : digits && digits.length <= 15 ? Number(digits) : undefined;
  if (selector === undefined) return undefined;
  const dash = segment.lastIndexOf('-');
  const suffix = dash === -1 ? '' : segment.slice(dash + 1);
  const size = CAA_THUMBNAIL_SIZES.find((candidate) => suffix.startsWith(String(candidate)));
  const dot = segment.lastIndexOf('.');
  const extension = dot === -1 ? '' : segment.slice(dot + 1).toLowerCase();
  const format: RenditionFormat = size !== undefined && (extension === 'webp' || extension === 'avif') ? extension : 'jpeg';
  return { selector, size, format };
}

/**
 * The stricter reading the original applies to OPTIONS: with its extension cut, `front`, `back` or digits, then
 * at most a dash and exactly 250, 500 or 1200 as the second part (`front-100` and `1200-front` are refused).
 */
export function isArtSegment(segment: string): boolean {
  const dot = segment.lastIndexOf('.');
  const [name = '', size] = (dot > 0 ? segment.slice(0, dot) : segment).split('-');
  if (name !== 'front' && name !== 'back' && !/^\d+$/.test(name)) return false;
  return size === undefined || thumbnailSize(size) !== undefined;
}

/** True when the Accept header admits JSON (absent, `*\/*`, `application/*` or `application/json` with q > 0). */
export function acceptsJson(header: string | undefined): boolean {
  if (header === undefined || header.trim() === '') return true;
  return header.split(',').some((part) => {
    const [range = '', ...params] = part.split(';').map((item) => item.trim().toLowerCase());
    const q = params.find((param) => param.startsWith('q='));
    if (q !== undefined && !(Number(q.slice(2)) > 0)) return false;
    return range === 'application/json' || range === '*/*' || range === 'application/*';
  });
}

/**
 * JSON with the keys of every object sorted as strings, as the Internet Archive's indexer writes index.json
 * (`"1200"` before `"250"`: JavaScript objects would put integer-like keys first, so serialise by hand).
 */
export function sortedJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((item) => sortedJson(item === undefined ? null : item)).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, item]) => item !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${sortedJson(item)}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

const invalidMbid = () => new JacketError(400, 'invalid_mbid', 'invalid MBID specified');
const invalidSegment = (segment: string) =>
  new JacketError(400, 'invalid_request', `"${segment.slice(0, 60)}" is not front, back or an image id, optionally with -250, -500 or -1200.`);

/** OPTIONS came with HTTP/1.1; the original answers it over HTTP/1.0 with 501, as RFC 9110 allows for an unknown method. */
function optionsOverHttp10(request: FastifyRequest): JacketError | undefined {
  return request.raw.httpVersion === '1.0' ? new JacketError(501, 'not_implemented', 'OPTIONS is not a method of HTTP/1.0.') : undefined;
}

/**
 * `OPTIONS *` and `OPTIONS /*` ask about the server as a whole: 200 with Allow, as the original answers; an asterisk
 * followed by anything (`/*foo`, `/*\/x`) is a 400 there. Undefined for every other target.
 */
export function asteriskOptions(request: FastifyRequest, reply: FastifyReply): FastifyReply | undefined {
  const target = request.url.split('?')[0]!;
  if (!target.startsWith('*') && !target.startsWith('/*')) return undefined;
  const refused = optionsOverHttp10(request);
  if (refused) return sendText(reply, refused.status, refused.message);
  if (target !== '*' && target !== '/*') return sendText(reply, 400, 'Only * alone asks about the whole server.');
  return reply.code(200).header('allow', ALLOW).header('access-control-allow-methods', ALLOW).send();
}

function sendText(reply: FastifyReply, status: number, text: string, headers: Record<string, string> = {}): FastifyReply {
  return reply.code(status).headers(headers).type('text/plain; charset=utf-8').send(`${text}\n`);
}

function redirect(reply: FastifyReply, location: string): FastifyReply {
  return reply.code(307).header('location', location).type('text/plain; charset=utf-8').send(`See: ${location}\n`);
}

/** Archive file names: `mbid-{mbid}-{id}.{ext}` for originals, `…_thumb{N}.{jpg|webp|avif}` for thumbnails. */
export function imageFileName(release: string, image: Pick<ReleaseImage, 'id' | 'mime'>, size?: ThumbnailSize, format: RenditionFormat = 'jpeg'): string {
  if (size === undefined) return `mbid-${release}-${image.id}.${extensionForMime(image.mime)}`;
  return `mbid-${release}-${image.id}_thumb${size}.${RENDITION_FORMATS[format].extension}`;
}

/** The entity tag of a release image's thumbnail: one per rendition, the same on every route that serves it. */
export function thumbnailTag(image: Pick<ReleaseImage, 'sha256'>, size: number, format: RenditionFormat): string {
  return `"${image.sha256.slice(0, 32)}-${size}-${format}"`;
}

/** The index.json listing of a release, as a plain value (keys get sorted when serialised). */
export function releaseListing(services: Services, base: string, release: string, images: ReleaseImage[]) {
  const front = firstOfType(images, FRONT_TYPE);
  const back = firstOfType(images, BACK_TYPE);
  const url = (image: ReleaseImage, suffix: string) => `${base}/release/${release}/${image.id}${suffix}`;
  return {
    images: images.map((image) => ({
      approved: image.approved,
      back: image === back,
      comment: image.comment,
      edit: image.edit,
      front: image === front,
      id: services.config.caaIdType === 'number' ? image.id : String(image.id),
      image: url(image, `.${extensionForMime(image.mime)}`),
      thumbnails: {
        '250': url(image, '-250.jpg'),
        '500': url(image, '-500.jpg'),
        '1200': url(image, '-1200.jpg'),
        small: url(image, '-250.jpg'),
        large: url(image, '-500.jpg'),
      },
      types: typeNames(image.types),
    })),
    release: `${services.config.musicbrainzUrl}/release/${release}`,
  };
}

/**
 * The Cover Art Archive dialect: the redirecting API (`/release…`, `/release-group…`) and the file routes it points
 * to (`/download/mbid-{mbid}/…`, the role the Internet Archive plays for the original service).
 */
export async function coverArtArchiveRoutes(app: FastifyInstance, services: Services): Promise<void> {
  const { releases, delivery, config } = services;

  /** Rate-limit hook first, then the work; JacketErrors become this dialect's short text bodies. */
  async function dialect(
    request: FastifyRequest,
    reply: FastifyReply,
    work: () => Promise<FastifyReply>,
    options: { limited: boolean } = { limited: true },
  ): Promise<FastifyReply> {
    try {
      if (options.limited) await services.hooks.coverArtArchiveRequest?.(request, reply);
      return await work();
    } catch (error) {
      if (error instanceof JacketError) return sendText(reply, error.status, error.message, error.headers);
      throw error;
    }
  }

  function mbidOf(raw: string): string {
    const mbid = parseMbid(raw);
    if (!mbid) throw invalidMbid();
    return mbid;
  }

  function segmentOf(raw: string): ArtSegment {
    const segment = parseArtSegment(raw);
    if (!segment) throw invalidSegment(raw);
    return segment;
  }

  function fileUrl(request: FastifyRequest, release: string, image: ReleaseImage, segment: ArtSegment): string {
    return `${publicBase(request, config)}/download/mbid-${release}/${imageFileName(release, image, segment.size, segment.format)}`;
  }

  /**
   * A redirect to an image file depends on the URL alone, and on the Host when no JACKET_PUBLIC_URL names the server:
   * it may be answered again from memory, unless the CAA rate limit must count it or a trusted proxy names the host.
   */
  function fileRedirect(request: FastifyRequest, reply: FastifyReply, location: string): FastifyReply {
    if (!services.hooks.coverArtArchiveRequest && (config.publicUrl || !config.trustProxy)) {
      offerForMemory(request.raw, config.publicUrl ? ANYONE : { kind: 'anyone', host: request.headers.host });
    }
    return redirect(reply, location);
  }

  function listingUrl(request: FastifyRequest, release: string): string {
    return `${publicBase(request, config)}/download/mbid-${release}/index.json`;
  }

  function requireJsonAccepted(request: FastifyRequest): void {
    if (!acceptsJson(request.headers.accept)) {
      throw new JacketError(406, 'not_acceptable', 'The listing is only available as application/json.');
    }
  }

  type EntityParams = { mbid: string };
  type FileParams = { mbid: string; file: string };
  const doc = (summary: string) => ({ schema: { tags: ['Cover Art Archive'], summary } });

  for (const url of ['/release/:mbid', '/release/:mbid/']) {
    app.get<{ Params: EntityParams }>(url, doc('307 to the release’s index.json'), (request, reply) =>
      dialect(request, reply, async () => {
        const mbid = mbidOf(request.params.mbid);
        requireJsonAccepted(request);
        const { release, images } = await delivery.resolve.releaseImages(mbid);
        if (images.length === 0) throw new JacketError(404, 'not_found', `No cover art found for release ${mbid}`);
        return redirect(reply, listingUrl(request, release));
      }),
    );
  }

  // `/release/{mbid}/front/` is the same request as `/release/{mbid}/front`: the original reads one segment and
  // ignores a trailing slash.
  for (const url of ['/release/:mbid/:file', '/release/:mbid/:file/']) {
    app.get<{ Params: FileParams }>(url, doc('307 to the front, back or an image by id, or one of its thumbnails'), (request, reply) =>
      dialect(request, reply, async () => {
        const mbid = mbidOf(request.params.mbid);
        const segment = segmentOf(request.params.file);
        const { release, images } = await delivery.resolve.releaseImages(mbid);
        const image = Resolver.select(images, segment.selector);
        if (!image) {
          // The original's sentences, word for word: clients and their tests match on them.
          const message =
            typeof segment.selector === 'number'
              ? `cover image with id ${segment.selector} not found`
              : `No ${segment.selector} cover image found for release with identifier ${mbid}`;
          throw new JacketError(404, 'not_found', message);
        }
        return fileRedirect(request, reply, fileUrl(request, release, image, segment));
      }),
    );
  }

  for (const url of ['/release-group/:mbid', '/release-group/:mbid/']) {
    app.get<{ Params: EntityParams }>(url, doc('307 to the index.json of the release chosen for the group'), (request, reply) =>
      dialect(request, reply, async () => {
        const mbid = mbidOf(request.params.mbid);
        requireJsonAccepted(request);
        const art = await delivery.resolve.releaseGroupArt(mbid);
        if (!art) throw new JacketError(404, 'not_found', `No cover art found for release group ${mbid}`);
        return redirect(reply, listingUrl(request, art.release.mbid));
      }),
    );
  }

  for (const url of ['/release-group/:mbid/:file', '/release-group/:mbid/:file/']) {
    app.get<{ Params: FileParams }>(url, doc('307 to the front (or a thumbnail) of the release chosen for the group'), (request, reply) =>
      dialect(request, reply, async () => {
        const mbid = mbidOf(request.params.mbid);
        const art = await delivery.resolve.releaseGroupArt(mbid);
        if (!art) throw new JacketError(404, 'not_found', `No cover art found for release group ${mbid}`);
        const segment = parseArtSegment(request.params.file);
        if (segment?.selector !== 'front') throw new JacketError(400, 'invalid_request', `${request.params.file.slice(0, 60)} not supported for release groups.`);
        const front = firstOfType(art.images, FRONT_TYPE)!;
        return fileRedirect(request, reply, fileUrl(request, art.release.mbid, front, segment));
      }),
    );
  }

  // OPTIONS answers from the path alone (no database work), with the original's stricter reading of the last
  // segment; other methods are 405 with Allow.
  for (const entity of ['release', 'release-group']) {
    for (const url of [`/${entity}/:mbid`, `/${entity}/:mbid/`, `/${entity}/:mbid/:file`]) {
      app.route<{ Params: Partial<FileParams> }>({
        method: 'OPTIONS',
        url,
        schema: { hide: true },
        // A CORS preflight: answered from the path alone, never counted against the rate limit (which would look up keys).
        handler: (request, reply) =>
          dialect(
            request,
            reply,
            async () => {
              const refused = optionsOverHttp10(request);
              if (refused) throw refused;
              mbidOf(request.params.mbid ?? '');
              const file = request.params.file;
              if (file !== undefined && file !== '' && !isArtSegment(file)) throw invalidSegment(file);
              return reply.code(200).header('allow', ALLOW).header('access-control-allow-methods', ALLOW).send();
            },
            { limited: false },
          ),
      });
      app.route({
        method: ['POST', 'PUT', 'PATCH', 'DELETE'],
        url,
        schema: { hide: true },
        handler: (request, reply) =>
          dialect(request, reply, async () => sendText(reply, 405, `Method ${request.method} is not allowed here; use GET or HEAD.`, { allow: ALLOW })),
      });
    }
  }

  // ---- File routes: what archive.org serves for the original service ----

  // The files are read-only: other methods are 405 with Allow, as on the API routes.
  app.route({
    method: ['POST', 'PUT', 'PATCH', 'DELETE'],
    url: '/download/:bucket/:file',
    schema: { hide: true },
    handler: (request, reply) => sendText(reply, 405, `Method ${request.method} is not allowed here; use GET or HEAD.`, { allow: ALLOW }),
  });

  app.get<{ Params: { bucket: string; file: string } }>(
    '/download/:bucket/:file',
    { schema: { tags: ['Cover Art Archive'], summary: 'Archive files: index.json, originals and thumbnails of a release' } },
    async (request, reply) => {
      try {
        const bucket = /^mbid-(.+)$/.exec(request.params.bucket);
        const bucketMbid = bucket ? parseMbid(bucket[1]!) : undefined;
        if (!bucketMbid) throw new JacketError(404, 'not_found', 'No such item.');
        const file = request.params.file;
        if (file === 'index.json') {
          const release = await releases.resolveMbid(bucketMbid, 'release');
          const images = await releases.imagesOf(release);
          if (images.length === 0 && !(await releases.getRelease(release))) throw new JacketError(404, 'not_found', `No cover art found for release ${bucketMbid}`);
          const body = sortedJson(releaseListing(services, publicBase(request, config), release, images));
          const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
          // The listing changes with every edit: revalidate each time (cheap with the ETag).
          setValidators(reply, { etag }, 'no-cache');
          if (isNotModified(request.headers, { etag })) return reply.code(304).send();
          return reply.type('application/json; charset=utf-8').send(body);
        }
        const match = /^mbid-([0-9a-fA-F-]{36})-(\d{1,15})(?:_thumb(\d+))?\.([a-zA-Z0-9]+)$/.exec(file);
        if (!match || match[1]!.toLowerCase() !== bucketMbid) throw new JacketError(404, 'not_found', 'No such file.');
        const image = await delivery.resolve.releaseImage(bucketMbid, Number(match[2]));
        if (!image) throw new JacketError(404, 'not_found', 'No such file.');
        const extension = match[4]!.toLowerCase();
        const tag = image.sha256.slice(0, 32);
        if (match[3] === undefined) {
          const trueExtension = extensionForMime(image.mime);
          if (extension !== trueExtension && !(extension === 'jpeg' && trueExtension === 'jpg')) throw new JacketError(404, 'not_found', 'No such file.');
          return await delivery.answer(request, reply, { image, format: 'original', etag: () => `"${tag}"`, cacheControl: LONG_CACHE, ranges: true, hot: ANYONE });
        }
        const size = thumbnailSize(match[3]);
        const format: RenditionFormat | undefined = extension === 'jpg' ? 'jpeg' : extension === 'webp' || extension === 'avif' ? extension : undefined;
        if (size === undefined || format === undefined) throw new JacketError(404, 'not_found', 'No such file.');
        return await delivery.answer(request, reply, {
          image,
          format,
          target: fitLongestSide(image.width, image.height, size),
          etag: () => thumbnailTag(image, size, format),
          cacheControl: LONG_CACHE,
          ranges: true,
          hot: ANYONE,
        });
      } catch (error) {
        if (error instanceof JacketError) return sendText(reply, error.status, error.message, error.headers);
        throw error;
      }
    },
  );
}
