import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Services } from '../services.ts';
import { isVisible, type Cover } from '../catalogue/covers.ts';
import type { ReleaseImage } from '../catalogue/releases.ts';
import { titleOf } from '../catalogue/titles.ts';
import { requirePermission } from '../auth.ts';
import { JacketError } from '../errors.ts';
import { parseCoverId } from '../identifiers/index.ts';
import { publicBase } from './common.ts';
import { imageJson } from './releases-api.ts';

/** What a person (or the web UI) is told about a cover: everything but storage internals. */
export async function coverRecord(services: Services, cover: Cover) {
  return {
    id: cover.id,
    category: cover.category,
    olid: cover.olid,
    status: coverState(cover),
    width: cover.width,
    height: cover.height,
    mime: cover.mime,
    byteSize: cover.byteSize,
    sourceUrl: cover.sourceUrl,
    author: cover.author,
    // The book's title, authors and Open Library author ids (its edition's, else the cover's own).
    ...(await titleOf(services.catalogue.db, cover)),
    created: new Date(cover.createdAt).toISOString(),
    lastModified: new Date(cover.modifiedAt).toISOString(),
    identifiers: await services.catalogue.identifiersOf(cover),
  };
}

/** A deleted cover is gone whatever its moderation state was; say so rather than "approved". */
function coverState(cover: Cover): Cover['status'] | 'deleted' {
  return cover.deleted ? 'deleted' : cover.status;
}

export function coverIdParam(request: FastifyRequest): number {
  const raw = (request.params as { id: string }).id;
  const id = parseCoverId(raw);
  if (id === undefined) throw new JacketError(400, 'invalid_id', `"${raw.slice(0, 40)}" is not a cover id (a positive whole number).`);
  return id;
}

export const idParams = {
  type: 'object',
  properties: { id: { type: 'string', description: 'Cover id' } },
  required: ['id'],
} as const;

const imageIdParams = {
  type: 'object',
  properties: { id: { type: 'string', description: 'Release image id (Cover Art Archive)' } },
  required: ['id'],
} as const;

function imageIdParam(request: FastifyRequest): number {
  const raw = (request.params as { id: string }).id;
  if (!/^\d{1,15}$/.test(raw) || Number(raw) < 1) throw new JacketError(400, 'invalid_id', `"${raw.slice(0, 40)}" is not an image id (a positive whole number).`);
  return Number(raw);
}

/**
 * Moderation (JACKET_MODERATION=true): uploads wait as `pending`, served to nobody, until an administrator approves or
 * rejects them. The uploader follows the decision through the public status call. Also the cover record the web UI
 * shows: the Open Library `.json` lacks identifiers and moderation state.
 */
export async function moderationRoutes(app: FastifyInstance, services: Services): Promise<void> {
  const { auth, catalogue, renditions } = services;

  async function existingCover(id: number): Promise<Cover> {
    const cover = await catalogue.getCover(id);
    if (!cover) throw new JacketError(404, 'not_found', `There is no cover ${id}.`);
    return cover;
  }

  async function existingImage(id: number): Promise<ReleaseImage> {
    const image = await services.releases.getImage(id);
    if (image) return image;
    if ((await services.releases.imageState(id)) === 'deleted') throw new JacketError(409, 'image_deleted', `Image ${id} was deleted; there is nothing to decide.`);
    throw new JacketError(404, 'not_found', `There is no image ${id}.`);
  }

  // The decisions and what they are made on: a route group for the administrator alone.
  await app.register(async (admin) => {
    requirePermission(admin, auth, 'admin');

    admin.get(
      '/api/v1/moderation',
      {
        schema: {
          summary: 'Covers (`pending`) and release images (`pendingImages`) waiting for a moderation decision (administrator), oldest first',
          description: '`limit` and `offset` apply to each list separately.',
          tags: ['moderation'],
          querystring: {
            type: 'object',
            properties: { limit: { type: 'integer', minimum: 1, maximum: 200, default: 50 }, offset: { type: 'integer', minimum: 0, default: 0 } },
          },
        },
      },
      async (request) => {
        const { limit, offset } = request.query as { limit: number; offset: number };
        const pending = await Promise.all((await catalogue.pendingCovers(limit, offset)).map((cover) => coverRecord(services, cover)));
        const pendingImages = (await services.releases.pendingImages(limit, offset)).map((image) => imageJson(publicBase(request, services.config), image));
        return { enabled: services.moderation, pending, pendingImages };
      },
    );

    // Pending covers are served to nobody through the public dialects; the moderator still has to see one to judge it.
    admin.get('/api/v1/moderation/:id/image', { schema: { summary: 'The original image of any cover, pending ones included (administrator)', tags: ['moderation'], params: idParams } }, async (request, reply) => {
      const cover = await existingCover(coverIdParam(request));
      return reply.type(cover.mime).header('cache-control', 'private, no-store').send(await renditions.requireOriginal(cover));
    });

    for (const [action, status] of [
      ['approve', 'approved'],
      ['reject', 'rejected'],
    ] as const) {
      admin.post(
        `/api/v1/covers/:id/${action}`,
        { schema: { summary: `${action === 'approve' ? 'Approve' : 'Reject'} a cover (administrator)`, tags: ['moderation'], params: idParams } },
        async (request) => {
          const cover = await existingCover(coverIdParam(request));
          if (cover.deleted) throw new JacketError(409, 'cover_deleted', `Cover ${cover.id} was deleted; there is nothing to ${action}.`);
          await catalogue.setStatus(cover.id, status);
          request.log.info({ coverId: cover.id, status }, 'moderation decision');
          return { id: cover.id, status };
        },
      );
    }

    // ---- Release images (the Cover Art Archive dialect): the same decisions, kept on the image ----

    admin.get(
      '/api/v1/moderation/images/:id/image',
      { schema: { summary: 'The original of any release image, pending and rejected ones included (administrator)', tags: ['moderation'], params: imageIdParams } },
      async (request, reply) => {
        const image = await existingImage(imageIdParam(request));
        return reply.type(image.mime).header('cache-control', 'private, no-store').send(await renditions.requireOriginal(image));
      },
    );

    for (const [action, status] of [
      ['approve', 'approved'],
      ['reject', 'rejected'],
    ] as const) {
      admin.post(
        `/api/v1/images/:id/${action}`,
        {
          schema: {
            summary: `${action === 'approve' ? 'Approve a release image: served, approved:true in index.json' : 'Reject a release image: gone from index.json and every route, kept for audit'} (administrator)`,
            tags: ['moderation'],
            params: imageIdParams,
          },
        },
        async (request) => {
          const image = await services.releases.setImageStatus((await existingImage(imageIdParam(request))).id, status);
          request.log.info({ imageId: image.id, release: image.release, status }, 'moderation decision');
          return { id: image.id, release: image.release, status };
        },
      );
    }
  });

  // What anyone may ask: the state of an upload or an image, and the record of a served cover.
  app.get(
    '/api/v1/images/:id/status',
    { schema: { summary: 'Moderation state of a release image: pending, approved, rejected or deleted', tags: ['moderation'], params: imageIdParams } },
    async (request, reply) => {
      const id = imageIdParam(request);
      const status = await services.releases.imageState(id);
      if (status === undefined) throw new JacketError(404, 'not_found', `There is no image ${id}.`);
      return reply.header('cache-control', 'no-cache').send({ id, status });
    },
  );

  app.get('/api/v1/covers/:id/status', { schema: { summary: 'Moderation state of a cover: pending, approved, rejected or deleted', tags: ['moderation'], params: idParams } }, async (request, reply) => {
    const cover = await existingCover(coverIdParam(request));
    return reply.header('cache-control', 'no-cache').send({ id: cover.id, status: coverState(cover) });
  });

  app.get('/api/v1/covers/:id', { schema: { summary: 'A cover with its identifiers and moderation state (covers not yet served: administrator only)', tags: ['covers'], params: idParams } }, async (request, reply) => {
    const id = coverIdParam(request);
    const cover = await catalogue.getCover(id);
    const principal = await auth.identify(request);
    const isAdmin = principal?.permissions.includes('admin') ?? false;
    if (!cover || (!isVisible(cover) && !isAdmin)) throw new JacketError(404, 'not_found', `There is no cover ${id}.`);
    return reply.header('cache-control', 'no-cache').send(await coverRecord(services, cover));
  });
}
