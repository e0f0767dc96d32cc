// A librarian corrects a cover's identifiers or edition, replaces its image, and sees its history; every lookup
// follows at once, and an old id keeps serving its own bytes.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { form, makeImage } from './helpers/images.ts';
import { startJacket, type RunningJacket } from './helpers/server.ts';

describe('correcting and replacing covers', () => {
  let jacket: RunningJacket;

  before(async () => {
    jacket = await startJacket();
  });
  after(() => jacket.close());

  async function upload(fields: Record<string, string>, color: string): Promise<number> {
    const response = await jacket.get('/b/upload2', { method: 'POST', headers: jacket.admin, body: form({ ...fields, data: { bytes: await makeImage(300, 450, { color }) } }) });
    assert.equal(response.status, 200, await response.clone().text());
    return (await response.json()).id;
  }

  const patch = (id: number, body: unknown) =>
    jacket.get(`/api/v1/covers/${id}`, { method: 'PATCH', headers: { ...jacket.admin, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const etagOf = async (path: string) => {
    const response = await jacket.get(`${path}?default=false`);
    await response.arrayBuffer();
    return response.status === 200 ? response.headers.get('etag') : response.status;
  };

  test('a wrong ISBN is corrected: the old one finds nothing, the right one finds the cover, at once', async () => {
    const id = await upload({ isbn: '9780385472579' }, '#884422');
    assert.equal(await etagOf('/b/isbn/9780385472579-S.jpg'), `"${id}-s"`);
    const response = await patch(id, { identifiers: { isbn: ['0-261-10221-4'] } });
    assert.equal(response.status, 200, await response.clone().text());
    const record = await response.json();
    assert.deepEqual(record.identifiers, [{ scheme: 'isbn', value: '9780261102217' }]);
    assert.equal(await etagOf('/b/isbn/9780385472579-S.jpg'), 404);
    assert.equal(await etagOf('/b/isbn/9780261102217-S.jpg'), `"${id}-s"`);
    assert.equal(await etagOf('/b/isbn/0261102214-S.jpg'), `"${id}-s"`);
  });

  test('bad input is a 400 with a code and a sentence, and changes nothing', async () => {
    const id = await upload({ isbn: '9781566199094' }, '#224488');
    for (const [body, code] of [
      [{ identifiers: { isbn: ['97815661990'] } }, 'invalid_identifier'],
      [{ identifiers: { shelfmark: ['A1'] } }, 'invalid_identifier'],
      [{ olid: 'OL1A' }, 'invalid_olid'],
    ] as const) {
      const response = await patch(id, body);
      assert.equal(response.status, 400, JSON.stringify(body));
      const error = await response.json();
      assert.equal(error.error, code);
      assert.equal(typeof error.message, 'string');
    }
    assert.equal(await etagOf('/b/isbn/9781566199094-S.jpg'), `"${id}-s"`);
    assert.equal((await patch(99999999, { olid: 'OL1M' })).status, 404);
    assert.equal((await jacket.get(`/api/v1/covers/${id}`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: '{}' })).status, 401);
  });

  test('moving a cover to another edition: the edition now serves it', async () => {
    const id = await upload({ olid: 'OL5M' }, '#448822');
    assert.equal((await patch(id, { olid: 'OL6M' })).status, 200);
    assert.equal(await etagOf('/b/olid/OL6M-S.jpg'), `"${id}-s"`);
    assert.equal(await etagOf('/b/olid/OL5M-S.jpg'), 404);
  });

  test('a replacement takes over the edition and its identifiers; the old id keeps its bytes; the history lists both', async () => {
    const old = await upload({ olid: 'OL7M', isbn: '9780451526533', title: 'Pride and Prejudice', author: 'Jane Austen' }, '#aa2222');
    const oldBytes = Buffer.from(await (await jacket.get(`/b/id/${old}.jpg`)).arrayBuffer());
    const replacedBy = await jacket.get(`/api/v1/covers/${old}/replace`, { method: 'POST', headers: jacket.admin, body: form({ data: { bytes: await makeImage(400, 600, { color: '#22aa22' }) } }) });
    assert.equal(replacedBy.status, 201, await replacedBy.clone().text());
    const replacement = await replacedBy.json();
    assert.equal(replacement.replaces, old);
    assert.deepEqual([replacement.title, replacement.authors], ['Pride and Prejudice', ['Jane Austen']], 'the edition’s title');
    assert.equal(await etagOf('/b/olid/OL7M-S.jpg'), `"${replacement.id}-s"`, 'by edition');
    assert.equal(await etagOf('/b/isbn/0451526538-S.jpg'), `"${replacement.id}-s"`, 'by ISBN');
    assert.deepEqual(Buffer.from(await (await jacket.get(`/b/id/${old}.jpg`)).arrayBuffer()), oldBytes, 'id URLs are immutable');
    const history = await (await jacket.get(`/api/v1/covers/${old}/history`, { headers: jacket.admin })).json();
    assert.deepEqual(history.covers.map((cover: { id: number }) => cover.id), [replacement.id, old]);
    const refused = await jacket.get(`/api/v1/covers/${old}/replace`, { method: 'POST', headers: jacket.admin, body: form({ data: { bytes: Buffer.from('not an image') } }) });
    assert.equal(refused.status, 400);
  });
});
