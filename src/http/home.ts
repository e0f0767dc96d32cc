import type { FastifyInstance } from 'fastify';
import type { Services } from '../app.ts';

const page = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Jacket cover server</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:48rem;margin:2rem auto;padding:0 1rem;color:#222}code{background:#f3f3f3;padding:0 .25em}</style>
</head>
<body>
<h1>Jacket</h1>
<p>A self-hosted cover-art server: book covers, author photos and music release art, served through the APIs that
catalogue software already calls.</p>
<ul>
<li><strong>Open Library Covers API</strong>: <code>/b/isbn/{isbn}-M.jpg</code>, <code>/b/id/{id}-L.jpg</code>, <code>/a/olid/{olid}-S.jpg</code>, <code>/b/id/{id}.json</code></li>
</ul>
<p>Documentation: the project README describes every route, setting and command.</p>
</body>
</html>`;

export async function homeRoutes(app: FastifyInstance, _services: Services): Promise<void> {
  app.get('/', async (_request, reply) => reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(page));
}
