import type { FastifyInstance } from 'fastify';
import type { Services } from '../services.ts';
import { requirePermission } from '../auth.ts';
import { JacketError } from '../errors.ts';
import { parseCoverId, parseMbid } from '../identifiers/index.ts';

/** Administrator actions on mirrored covers: fetch one again from the upstream, or forget it. */
export async function mirrorRoutes(app: FastifyInstance, services: Services): Promise<void> {
  requirePermission(app, services.auth, 'admin');
  const mirrorOf = () => {
    const mirror = services.mirror.openLibrary;
    if (!mirror) throw new JacketError(404, 'mirror_off', 'Mirror mode is off: JACKET_UPSTREAM_OPENLIBRARY is not set.');
    return mirror;
  };
  const coverIdOf = (raw: string) => {
    const id = parseCoverId(raw);
    if (id === undefined) throw new JacketError(400, 'invalid_id', 'The cover id must be a positive whole number.');
    return id;
  };

  const releaseMirrorOf = () => {
    const mirror = services.mirror.coverArtArchive;
    if (!mirror) throw new JacketError(404, 'mirror_off', 'Mirror mode is off: JACKET_UPSTREAM_COVERARTARCHIVE is not set.');
    return mirror;
  };
  const mbidOf = (raw: string) => {
    const mbid = parseMbid(raw);
    if (!mbid) throw new JacketError(400, 'invalid_mbid', 'The release id must be a MusicBrainz id (a UUID).');
    return mbid;
  };

  app.post<{ Params: { mbid: string } }>('/api/v1/mirror/releases/:mbid/refresh', async (request, reply) => {
    const result = await releaseMirrorOf().refresh(mbidOf(request.params.mbid));
    if (!result) throw new JacketError(404, 'not_mirrored', 'There is no mirrored release with this MBID.');
    return reply.send({ release: mbidOf(request.params.mbid), ...result });
  });

  app.delete<{ Params: { mbid: string } }>('/api/v1/mirror/releases/:mbid', async (request, reply) => {
    const purged = await releaseMirrorOf().purge(mbidOf(request.params.mbid));
    if (!purged) throw new JacketError(404, 'not_mirrored', 'There is no mirrored release with this MBID.');
    return reply.code(204).send();
  });

  app.post<{ Params: { id: string } }>('/api/v1/mirror/covers/:id/refresh', async (request, reply) => {
    const result = await mirrorOf().refresh(coverIdOf(request.params.id));
    if (!result) throw new JacketError(404, 'not_mirrored', 'There is no mirrored cover with this id.');
    return reply.send({ id: Number(request.params.id), ...result });
  });

  app.delete<{ Params: { id: string } }>('/api/v1/mirror/covers/:id', async (request, reply) => {
    const purged = await mirrorOf().purge(coverIdOf(request.params.id));
    if (!purged) throw new JacketError(404, 'not_mirrored', 'There is no mirrored cover with this id.');
    return reply.code(204).send();
  });
}
