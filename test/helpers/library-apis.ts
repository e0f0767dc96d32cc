import assert from 'node:assert/strict';
import http from 'node:http';
import { form, makeImage } from './images.ts';
import type { RunningJacket } from './server.ts';

/** Upload a cover under /b through the write API (a 1000×1500 JPEG of `image` when it is a colour); its id. */
export async function uploadBookCover(jacket: RunningJacket, fields: Record<string, string | string[]>, image: string | Buffer = '#3a6ea5'): Promise<number> {
  const bytes = typeof image === 'string' ? await makeImage(1000, 1500, { color: image }) : image;
  const response = await jacket.get('/b/upload2', { method: 'POST', headers: jacket.admin, body: form({ ...fields, data: { bytes } }) });
  const body = await response.json();
  assert.equal(response.status, 200, JSON.stringify(body));
  return body.id;
}

/** A GET with exactly these headers (fetch will not send its own Host or forwarded headers as given). */
export function rawGet(jacket: RunningJacket, path: string, headers: Record<string, string>): Promise<{ status: number; type: string; body: string }> {
  const { hostname, port } = new URL(jacket.url);
  return new Promise((resolve, reject) => {
    const request = http.get({ hostname, port, path, headers, agent: false }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode!, type: String(response.headers['content-type']), body: Buffer.concat(chunks).toString('utf8') }));
    });
    request.on('error', reject);
  });
}

/** Add an image to a release through the Cover Art Archive write API (the release is made if new); its id. */
export async function uploadReleaseImage(jacket: RunningJacket, mbid: string, types: string, bytes?: Buffer): Promise<number> {
  const response = await jacket.get(`/api/v1/releases/${mbid}/images`, {
    method: 'POST',
    headers: jacket.admin,
    body: form({ types, file: { bytes: bytes ?? (await makeImage(600, 600)), filename: 'cover.jpg' } }),
  });
  const body = await response.json();
  assert.equal(response.status, 201, JSON.stringify(body));
  return body.id;
}

/** A developer key made by the administrator: its secret and public id. */
export async function createKey(jacket: RunningJacket, fields: Record<string, unknown> = { name: 'OPAC' }): Promise<{ key: string; id: string }> {
  const response = await jacket.get('/api/v1/keys', { method: 'POST', headers: { ...jacket.admin, 'content-type': 'application/json' }, body: JSON.stringify(fields) });
  const body = await response.json();
  assert.equal(response.status, 201, JSON.stringify(body));
  return body;
}

/** Fixed windows are aligned to the clock: start a counting test early in one, so it never straddles two. */
export async function freshWindow(windowMs: number, needMs = 10_000): Promise<void> {
  const left = windowMs - (Date.now() % windowMs);
  if (left < needMs) await new Promise((resolve) => setTimeout(resolve, left + 50));
}
