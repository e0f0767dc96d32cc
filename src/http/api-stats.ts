import type { FastifyInstance } from 'fastify';
import type { Services } from '../services.ts';
import { requirePermission } from '../auth.ts';
import { USAGE_DAYS } from '../usage.ts';
import { security } from './common.ts';

/** The statistics page's figures (administrator): the server's own usage counters and the catalogue by kind and state. */
export async function statsRoutes(app: FastifyInstance, services: Services): Promise<void> {
  const { auth, usage } = services;
  requirePermission(app, auth, 'admin');
  app.get(
    '/api/v1/stats',
    {
      schema: {
        summary: 'Usage statistics (administrator): requests and renditions per day, the most requested covers, covers by kind and state',
        description: `\`days\`: the last ${USAGE_DAYS} UTC days, oldest first, each with the image requests answered (304s and answers from memory included) and the renditions made from originals, added up over every instance sharing the catalogue. \`topCovers\`: the most requested covers over those days. \`covers\`: counts by \`category\`, \`status\` and \`deleted\`. Counts reach the catalogue every JACKET_STATS_FLUSH_INTERVAL; this instance's are written first.`,
        tags: ['stats'],
        security,
      },
    },
    async (_request, reply) => {
      await usage.flush();
      return reply.header('cache-control', 'private, no-store').send(await usage.report());
    },
  );
}
