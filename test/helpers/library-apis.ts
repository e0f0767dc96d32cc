import assert from 'node:assert/strict';
import http from 'node:http';
import { form, makeImage } from './images.ts';
import type { RunningJacket } from './server.ts';

/** Upload a 1000×1500 JPEG cover under /b through the write API; its id. */
export async function uploadBookCover(jacket: RunningJacket, fields: Record<string, string | string[]>, color = '#3a6ea5'): Promise<number> {
  const bytes = await makeImage(1000, 1500, { color });
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
