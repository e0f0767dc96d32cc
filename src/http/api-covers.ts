import type { FastifyInstance } from 'fastify';
import type { Services } from '../services.ts';
import type { Category, Cover } from '../catalogue/covers.ts';
import { JacketError } from '../errors.ts';
import { EDITION_SCHEMES, isEditionScheme, normaliseIdentifier, type EditionScheme } from '../identifiers/index.ts';
import { coverIdParam, coverRecord, idParams } from './api-moderation.ts';

/**
 * `q` names an identifier as `scheme:value` (`oclc:123`) or, bare, an ISBN (either length, hyphens allowed); it is
 * normalised as the lookups normalise it, so whatever `/b/isbn/…` finds, the collection search finds too.
 */
function identifierQuery(q: string): { scheme: EditionScheme; value: string } {
  const match = /^([a-z]+):(.*)$/i.exec(q.trim());
  const scheme = match ? match[1]!.toLowerCase() : 'isbn';
  const raw = match ? match[2]! : q;
  if (!isEditionScheme(scheme)) throw new JacketError(400, 'invalid_query', `"${scheme.slice(0, 20)}" is not an identifier kind; use one of ${EDITION_SCHEMES.join(', ')}.`);
  const value = normaliseIdentifier(scheme, raw);
  if (value === undefined) throw new JacketError(400, 'invalid_query', `"${raw.slice(0, 40)}" is not a valid ${scheme} (check the digits).`);
  return { scheme, value };
}

/** The librarian's collection API (administrator): browse and search every cover, delete one. */
export async function coverRoutes(app: FastifyInstance, services: Services): Promise<void> {
  const { auth, catalogue } = services;

  app.get(
    '/api/v1/covers',
    {
      schema: {
        summary: 'Browse the collection (administrator): every cover not deleted, pending ones included, newest first',
        description: '`q` is an identifier, `scheme:value` or a bare ISBN, matched as the lookups match it. `total` counts the matches up to 1,000 past this page (`totalExact` false: more match), so a listing of millions of covers costs one page.',
        tags: ['covers'],
        querystring: {
          type: 'object',
          properties: {
            q: { type: 'string', maxLength: 80 },
            category: { type: 'string', enum: ['b', 'a', 'w'] },
            status: { type: 'string', enum: ['pending', 'approved', 'rejected'] },
            sort: { type: 'string', enum: ['recent'], default: 'recent' },
            limit: { type: 'integer', minimum: 1, maximum: 200, default: 50 },
            offset: { type: 'integer', minimum: 0, default: 0 },
          },
        },
      },
    },
    async (request, reply) => {
      await auth.require(request, 'admin');
      const query = request.query as { q?: string; category?: Category; status?: Cover['status']; limit: number; offset: number };
      const identifier = query.q?.trim() ? identifierQuery(query.q) : undefined;
      const page = await catalogue.browseCovers({ ...query, identifier });
      const covers = await Promise.all(page.covers.map((cover) => coverRecord(services, cover)));
      return reply.header('cache-control', 'private, no-store').send({ total: page.total, totalExact: page.totalExact, covers });
    },
  );

  app.delete('/api/v1/covers/:id', { schema: { summary: 'Delete a cover (administrator): gone from every route at once, as `/b/delete`', tags: ['covers'], params: idParams } }, async (request) => {
    await auth.require(request, 'admin');
    const id = coverIdParam(request);
    const deleted = await catalogue.deleteCover(id);
    if (!deleted) throw new JacketError(404, 'not_found', `There is no cover ${id} (or it was already deleted).`);
    request.log.info({ coverId: id }, 'cover deleted');
    return { id, status: 'deleted' };
  });
}
