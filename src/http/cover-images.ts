import type { FastifyInstance } from 'fastify';
import type { Services } from '../app.ts';
import { JacketError } from '../errors.ts';
import { parseCoverId } from '../identifiers/index.ts';
import { RENDITION_FORMATS, type RenditionFormat } from '../images/render.ts';
import { openLibrarySize, type OpenLibrarySize } from '../images/sizes.ts';
import { isNotModified, LONG_CACHE, queryParam, setValidators } from './common.ts';

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

/**
 * `GET /api/v1/covers/{id}/image?size=S|M|L`: one URL per rendition, the format chosen by `Accept` (AVIF, WebP or
 * JPEG) with `Vary: Accept`. Same renditions, sizes and ETags as the Open Library routes (`/b/id/{id}-M.webp`…).
 */
export async function coverImageRoutes(app: FastifyInstance, services: Services): Promise<void> {
  const { catalogue, renditions } = services;
  app.get<{ Params: { id: string } }>('/api/v1/covers/:id/image', async (request, reply) => {
    const id = parseCoverId(request.params.id);
    if (id === undefined) throw new JacketError(400, 'invalid_id', 'The cover id must be a positive whole number.');
    const sizeParam = (queryParam(request, 'size') ?? 'L').toUpperCase();
    if (sizeParam !== 'S' && sizeParam !== 'M' && sizeParam !== 'L') throw new JacketError(400, 'invalid_size', 'size must be S, M or L.');
    const size = sizeParam as OpenLibrarySize;
    const cover = await catalogue.visibleCover(id);
    if (!cover) throw new JacketError(404, 'not_found', `There is no cover ${id}.`);
    const format = negotiateFormat(request.headers.accept);
    const suffix = format === 'jpeg' ? '' : `.${RENDITION_FORMATS[format].extension}`;
    const validators = { etag: `"${cover.id}-${size.toLowerCase()}${suffix}"`, lastModified: cover.createdAt };
    reply.header('vary', 'Accept');
    setValidators(reply, validators, LONG_CACHE);
    if (isNotModified(request.headers, validators)) return reply.code(304).send();
    const target = openLibrarySize(cover.width, cover.height, size);
    return reply.type(RENDITION_FORMATS[format].mime).send(await renditions.bytes(cover, target, format));
  });
}
