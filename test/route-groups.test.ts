import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startJacket, type RunningJacket } from './helpers/server.ts';

// Route groups are plugins with their own auth: an administrator's group refuses a caller without credentials
// before it reads the body, so a broken body from a stranger is a 401, and the administrator is let through.
describe('route groups', () => {
  let jacket: RunningJacket;
  before(async () => {
    jacket = await startJacket({ JACKET_MODERATION: 'true' });
  });
  after(() => jacket.close());

  const adminRoutes: Array<[string, string]> = [
    ['POST', '/api/v1/keys'],
    ['GET', '/api/v1/keys'],
    ['DELETE', '/api/v1/keys/nosuchkey'],
    ['GET', '/api/v1/moderation?limit=nonsense'],
    ['POST', '/api/v1/covers/1/approve'],
    ['POST', '/api/v1/images/1/reject'],
    ['GET', '/api/v1/moderation/images/1/image'],
    ['POST', '/api/v1/mirror/covers/1/refresh'],
    ['DELETE', '/api/v1/mirror/releases/not-a-uuid'],
    ['PUT', '/api/v1/releases/not-a-uuid'],
    ['POST', '/api/v1/releases/not-a-uuid/images'],
    ['PATCH', '/api/v1/images/1'],
    ['GET', '/api/v1/covers?q=achebe'],
    ['PATCH', '/api/v1/covers/1'],
    ['POST', '/api/v1/covers/1/replace'],
    ['GET', '/api/v1/covers/1/history'],
    ['DELETE', '/api/v1/covers/1'],
    ['GET', '/api/v1/stats'],
  ];

  test('an administrator route refuses a stranger with 401 before reading a broken body', async () => {
    for (const [method, path] of adminRoutes) {
      const init = method === 'GET' ? { method } : { method, headers: { 'content-type': 'application/json' }, body: '{"broken": ' };
      const stranger = await jacket.get(path, init);
      assert.equal(stranger.status, 401, `${method} ${path} without credentials`);
      assert.equal((await stranger.json()).error, 'unauthorized', `${method} ${path}`);
      const wrong = await jacket.get(path, { ...init, headers: { ...(init.headers ?? {}), authorization: 'Bearer not-the-token' } });
      assert.equal(wrong.status, 401, `${method} ${path} with a wrong token`);
      const admin = await jacket.get(path, { ...init, headers: { ...(init.headers ?? {}), ...jacket.admin } });
      assert.ok(admin.status < 500 && admin.status !== 401 && admin.status !== 403, `${method} ${path} as administrator: ${admin.status}`);
    }
  });

  test('the public routes beside them stay public', async () => {
    assert.equal((await jacket.get('/api/v1/covers/1/status')).status, 404);
    assert.equal((await jacket.get('/api/v1/images/1/status')).status, 404);
    const signup = await jacket.get('/api/v1/keys/signup', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    assert.equal(signup.status, 403, 'sign-up answers for itself (off by default), not with 401');
  });

  test('the catalogue publishes a change after a multi-row write commits, not before', async () => {
    const { catalogue } = jacket.services;
    const previous = catalogue.onChange;
    let published = 0;
    catalogue.onChange = () => {
      published += 1;
      previous?.();
    };
    try {
      const seenInside = await catalogue.write(async (trx) => {
        await catalogue.attachIdentifiers(trx, [{ scheme: 'isbn', value: '9780385472579' }], { coverId: 0 });
        return published;
      });
      assert.equal(seenInside, 0, 'nothing is published inside the transaction');
      assert.equal(published, 1, 'one change after commit');
      await assert.rejects(
        catalogue.write(async () => {
          throw new Error('rolled back');
        }),
      );
      assert.equal(published, 1, 'a rolled-back write publishes nothing');
    } finally {
      catalogue.onChange = previous;
    }
  });
});
