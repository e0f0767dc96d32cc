import type { FastifyInstance } from 'fastify';
import type { Services } from '../app.ts';
import { JacketError } from '../errors.ts';
import { parseCoverId } from '../identifiers/index.ts';

/** Administrator actions on mirrored covers: fetch one again from the upstream, or forget it. */
export async function mirrorRoutes(app: FastifyInstance, services: Services): Promise<void> {
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

  app.post<{ Params: { id: string } }>('/api/v1/mirror/covers/:id/refresh', async (request, reply) => {
    await services.auth.require(request, 'admin');
    const result = await mirrorOf().refresh(coverIdOf(request.params.id));
    if (!result) throw new JacketError(404, 'not_mirrored', 'There is no mirrored cover with this id.');
    return reply.send({ id: Number(request.params.id), ...result });
  });

  app.delete<{ Params: { id: string } }>('/api/v1/mirror/covers/:id', async (request, reply) => {
    await services.auth.require(request, 'admin');
    const purged = await mirrorOf().purge(coverIdOf(request.params.id));
    if (!purged) throw new JacketError(404, 'not_mirrored', 'There is no mirrored cover with this id.');
    return reply.code(204).send();
  });
}
