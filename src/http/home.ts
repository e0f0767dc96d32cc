import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Services } from '../services.ts';
import { isNotModified } from './common.ts';
// Brings in the schema's `hide` option: the UI's pages are not part of the API document.
import type {} from '@fastify/swagger';

/** The web UI: static files from src/ui, read once at start (they are small), served by the app itself. */
const UI_DIR = path.join(import.meta.dirname, '..', 'ui');

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

interface Asset {
  bytes: Buffer;
  type: string;
  etag: string;
}

function loadAssets(dir: string, prefix = ''): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) {
      for (const [name, asset] of loadAssets(path.join(dir, entry.name), rel)) assets.set(name, asset);
      continue;
    }
    const type = CONTENT_TYPES[path.extname(entry.name)];
    if (!type) continue;
    const bytes = fs.readFileSync(path.join(dir, entry.name));
    assets.set(rel, { bytes, type, etag: `"${createHash('sha256').update(bytes).digest('base64url').slice(0, 22)}"` });
  }
  return assets;
}

/** OpenSeadragon's script and button images, from its npm package: the deep view's viewer, served from here (no CDN). */
const VIEWER_DIR = path.dirname(createRequire(import.meta.url).resolve('openseadragon'));

/** Pages of the UI; each is the same shell, and the shell's script draws the page named by the path. */
const PAGES = ['/', '/ui/collection', '/ui/upload', '/ui/moderation', '/ui/keys', '/ui/stats', '/ui/cover/:id', '/ui/release/:mbid'];

export async function homeRoutes(app: FastifyInstance, services: Services): Promise<void> {
  const assets = loadAssets(UI_DIR);
  const shell = assets.get('index.html');
  if (!shell) throw new Error(`the web UI shell ${path.join(UI_DIR, 'index.html')} is missing`);
  // Release listings hold absolute URLs built from JACKET_PUBLIC_URL, which may differ from the address in use.
  const extra = services.config.publicUrl ? ` ${new URL(services.config.publicUrl).origin}` : '';
  const contentSecurityPolicy = [
    "default-src 'self'",
    `img-src 'self' blob: data:${extra}`,
    `connect-src 'self'${extra}`,
    "script-src 'self'",
    // The one inline style allowed is the empty one: the deep view's marker <style> that keeps OpenSeadragon from
    // adding its own (src/ui/deep-view.js). An empty stylesheet styles nothing.
    "style-src 'self' 'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');

  function send(request: FastifyRequest, reply: FastifyReply, asset: Asset) {
    reply.header('etag', asset.etag).header('cache-control', 'no-cache').header('x-content-type-options', 'nosniff');
    if (isNotModified(request.headers, { etag: asset.etag })) return reply.code(304).send();
    return reply.type(asset.type).send(asset.bytes);
  }

  for (const page of PAGES) {
    app.get(page, { schema: { hide: true } }, async (request, reply) => {
      reply.header('content-security-policy', contentSecurityPolicy).header('referrer-policy', 'same-origin');
      return send(request, reply, shell);
    });
  }

  // A mistyped UI address is read by a person: the shell (whose script says "Page not found"), with a 404 status.
  app.get('/ui/*', { schema: { hide: true } }, async (_request, reply) => {
    reply.header('content-security-policy', contentSecurityPolicy).header('referrer-policy', 'same-origin').header('cache-control', 'no-cache');
    return reply.code(404).type(shell.type).send(shell.bytes);
  });

  const viewer = loadAssets(VIEWER_DIR);
  app.get<{ Params: { '*': string } }>('/ui/vendor/openseadragon/*', { schema: { hide: true } }, async (request, reply) => {
    const asset = viewer.get(request.params['*']);
    if (!asset) return reply.code(404).send({ error: 'not_found', message: `There is no viewer file ${request.params['*'].slice(0, 80)}.` });
    return send(request, reply, asset);
  });

  app.get<{ Params: { '*': string } }>('/ui/assets/*', { schema: { hide: true } }, async (request, reply) => {
    const asset = assets.get(request.params['*']);
    if (!asset || request.params['*'] === 'index.html') {
      return reply.code(404).send({ error: 'not_found', message: `There is no UI file ${request.params['*'].slice(0, 80)}.` });
    }
    return send(request, reply, asset);
  });
}
