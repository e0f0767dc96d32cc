import type { FastifyInstance } from 'fastify';
import type { Services } from '../services.ts';
import { sizeTag } from '../delivery/answer.ts';
import { JacketError } from '../errors.ts';
import { parseCoverId } from '../identifiers/index.ts';
import { openLibrarySize, type OpenLibrarySize } from '../images/sizes.ts';
import { LONG_CACHE, queryParam } from './common.ts';

export { negotiateFormat } from '../delivery/answer.ts';

/**
 * `GET /api/v1/covers/{id}/image?size=S|M|L`: one URL per rendition, the format chosen by `Accept` (AVIF, WebP or
 * JPEG) with `Vary: Accept`. Same renditions, sizes and ETags as the Open Library routes (`/b/id/{id}-M.webp`…).
 */
export async function coverImageRoutes(app: FastifyInstance, services: Services): Promise<void> {
  const { delivery } = services;
  app.get<{ Params: { id: string } }>('/api/v1/covers/:id/image', async (request, reply) => {
    const id = parseCoverId(request.params.id);
    if (id === undefined) throw new JacketError(400, 'invalid_id', 'The cover id must be a positive whole number.');
    const sizeParam = (queryParam(request, 'size') ?? 'L').toUpperCase();
    if (sizeParam !== 'S' && sizeParam !== 'M' && sizeParam !== 'L') throw new JacketError(400, 'invalid_size', 'size must be S, M or L.');
    const size = sizeParam as OpenLibrarySize;
    const cover = await delivery.resolve.coverById(id);
    if (!cover) throw new JacketError(404, 'not_found', `There is no cover ${id}.`);
    return delivery.answer(request, reply, {
      image: cover,
      format: 'accept',
      target: openLibrarySize(cover.width, cover.height, size),
      etag: (format) => sizeTag(cover.id, size, format),
      lastModified: cover.createdAt,
      cacheControl: LONG_CACHE,
      coverId: cover.id,
    });
  });
}
