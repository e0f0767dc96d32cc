import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { sizeTag, type DeliveredImage } from '../delivery/answer.ts';
import { JacketError } from '../errors.ts';
import { parseCoverId } from '../identifiers/index.ts';
import { canonicalPath, isPlainResize, planRendering, type SizeLimits } from '../iiif/geometry.ts';
import { CONTEXT, imageInformation, PROFILE_URI } from '../iiif/info.ts';
import { renderIiif } from '../iiif/render.ts';
import { FORMATS, parseImageRequest } from '../iiif/request.ts';
import type { RenditionFormat } from '../images/render.ts';
import { CAA_THUMBNAIL_SIZES, fitLongestSide, OPEN_LIBRARY_SIZES, openLibrarySize, type Dimensions, type OpenLibrarySize } from '../images/sizes.ts';
import type { Services } from '../services.ts';
import { thumbnailTag } from './coverartarchive.ts';
import { isNotModified, LONG_CACHE, publicBase, setValidators, SHORT_CACHE } from './common.ts';

/** The widest and tallest image Jacket makes: WebP, one of the formats offered, encodes at most 16383 pixels a side. */
const MAX_SIDE = 16_383;

/** A rendition the other dialects already make, offered in info.json's `sizes`: answered like theirs. */
interface ListedSize extends Dimensions {
  etag: (format: RenditionFormat) => string;
}

/** The image an identifier names, with the sizes Jacket makes of it anyway. */
interface IiifImage {
  /** Its identifier as Jacket writes it (`cover-12`, whatever zeros or escapes the request had). */
  identifier: string;
  image: DeliveredImage;
  lastModified: number;
  sizes: ListedSize[];
}

/** One entry per distinct size, smallest first (a small original gives the same size under several names). */
function distinctSizes(sizes: ListedSize[]): ListedSize[] {
  const seen = new Set<string>();
  return sizes
    .filter(({ width, height }) => !seen.has(`${width}x${height}`) && seen.add(`${width}x${height}`))
    .sort((a, b) => a.width * a.height - b.width * b.height);
}

/**
 * The IIIF Image API 3.0 at level 2 (`/iiif/3/{identifier}/…`), identifiers `cover-{id}` and `caa-{imageId}`.
 * Sizes listed in info.json (the Open Library S/M/L renditions of a cover, the 250/500/1200 thumbnails of a release
 * image) are the same renditions the other dialects serve; every other request is made on the bounded image queue,
 * under its own rate limit and the maxArea cap, and kept in memory only.
 */
export async function iiifRoutes(app: FastifyInstance, services: Services): Promise<void> {
  const { delivery, config } = services;
  const limits: SizeLimits = { maxWidth: MAX_SIDE, maxHeight: MAX_SIDE, maxArea: config.iiifMaxArea };
  const serviceId = (request: FastifyRequest, identifier: string) => `${publicBase(request, config)}/iiif/3/${identifier}`;

  /** The visible image an identifier names (approved covers and served release images only), else 404. */
  async function find(identifier: string): Promise<IiifImage> {
    const match = /^(cover|caa)-(\d{1,15})$/.exec(identifier);
    const id = match ? parseCoverId(match[2]!) : undefined;
    if (match && id !== undefined && match[1] === 'cover') {
      const cover = await delivery.resolve.coverById(id);
      if (cover) {
        const sizes = (Object.keys(OPEN_LIBRARY_SIZES) as OpenLibrarySize[]).map((size) => ({
          ...openLibrarySize(cover.width, cover.height, size),
          etag: (format: RenditionFormat) => sizeTag(cover.id, size, format),
        }));
        return { identifier: `cover-${cover.id}`, image: cover, lastModified: cover.createdAt, sizes: distinctSizes(sizes) };
      }
    }
    if (match && id !== undefined && match[1] === 'caa') {
      const image = await delivery.resolve.releaseImageById(id);
      if (image) {
        const sizes = CAA_THUMBNAIL_SIZES.map((size) => ({
          ...fitLongestSide(image.width, image.height, size),
          etag: (format: RenditionFormat) => thumbnailTag(image, size, format),
        }));
        return { identifier: `caa-${image.id}`, image, lastModified: image.createdAt, sizes: distinctSizes(sizes) };
      }
    }
    throw new JacketError(404, 'not_found', `There is no image ${identifier.slice(0, 60)}: identifiers are cover-{id} and caa-{imageId}.`);
  }

  // The base URI answers with its image information (specification §2.2).
  app.get<{ Params: { identifier: string } }>('/iiif/3/:identifier', { schema: { tags: ['IIIF'], summary: '303 to the image information' } }, async (request, reply) =>
    reply.code(303).header('location', `${serviceId(request, encodeURIComponent(request.params.identifier))}/info.json`).send(),
  );

  app.get<{ Params: { identifier: string } }>(
    '/iiif/3/:identifier/info.json',
    { schema: { tags: ['IIIF'], summary: 'Image information (IIIF Image API 3.0, level 2)' } },
    async (request, reply) => {
      const found = await find(request.params.identifier);
      const body = JSON.stringify(imageInformation(serviceId(request, found.identifier), found.image, found.sizes, limits));
      // JSON-LD only when asked for; plain JSON otherwise, with the context as a link (specification §5.1).
      const jsonLd = /application\/ld\+json/i.test(request.headers.accept ?? '');
      const type = jsonLd ? `application/ld+json;profile="${CONTEXT}"` : 'application/json';
      const etag = `"${createHash('sha256').update(type).update(body).digest('base64url').slice(0, 27)}"`;
      reply.header('vary', 'Accept');
      if (!jsonLd) reply.header('link', `<${CONTEXT}>; rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"`);
      setValidators(reply, { etag }, SHORT_CACHE);
      if (isNotModified(request.headers, { etag })) return reply.code(304).send();
      // As bytes, so that the media type goes out exactly as written (a string body would get a charset added).
      return reply.header('content-type', type).send(Buffer.from(body));
    },
  );

  app.get<{ Params: { identifier: string; region: string; size: string; rotation: string; file: string } }>(
    '/iiif/3/:identifier/:region/:size/:rotation/:file',
    { schema: { tags: ['IIIF'], summary: 'An image: region, size, rotation, quality and format (IIIF Image API 3.0)' } },
    async (request, reply) => {
      const { identifier, region, size, rotation, file } = request.params;
      const asked = parseImageRequest(region, size, rotation, file);
      const found = await find(identifier);
      const { image } = found;
      const rendering = planRendering(asked, image, limits);
      const canonical = canonicalPath(rendering, image, limits);
      reply.header('link', `<${PROFILE_URI}>;rel="profile", <${serviceId(request, found.identifier)}/${canonical}>;rel="canonical"`);
      const format: RenditionFormat | undefined = asked.format === 'jpg' ? 'jpeg' : asked.format === 'png' ? undefined : asked.format;
      const listed = found.sizes.find((listedSize) => listedSize.width === rendering.size.width && listedSize.height === rendering.size.height);
      if (listed && format && isPlainResize(rendering, image)) {
        return delivery.answer(request, reply, { image, format, target: listed, etag: () => listed.etag(format), lastModified: found.lastModified, cacheControl: LONG_CACHE });
      }
      return delivery.answerMade(request, reply, {
        image,
        key: `iiif/${image.sha256}/${canonical}`,
        make: (original) => renderIiif(original, rendering),
        mime: FORMATS[asked.format],
        etag: `"${image.sha256.slice(0, 32)}-${createHash('sha256').update(canonical).digest('base64url').slice(0, 16)}"`,
        cacheControl: LONG_CACHE,
        beforeMaking: async () => services.hooks.iiifRender?.(request, reply),
      });
    },
  );
}
