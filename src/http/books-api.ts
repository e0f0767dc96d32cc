import type { FastifyInstance } from 'fastify';
import type { Services } from '../services.ts';
import { JacketError } from '../errors.ts';
import { parseOlid } from '../identifiers/index.ts';
import { publicBase, queryParam, SHORT_CACHE } from './common.ts';
import { coverUrls, editionKeyKind, editionOf, findEdition, type EditionKeyKind } from './edition-records.ts';
import { checkedCallback } from './openlibrary.ts';

/** More bibkeys than any catalogue page shows at once; it bounds one request's lookups. */
export const MAX_BIBKEYS = 200;

/**
 * A bibkey as Open Library reads it: `KIND:value` with the kind in any case; a bare value is an OLID when it looks
 * like one, else an ISBN.
 */
export function parseBibkey(bibkey: string): { kind: EditionKeyKind; value: string } | undefined {
  const colon = bibkey.indexOf(':');
  if (colon < 0) return { kind: parseOlid(bibkey) ? 'olid' : 'isbn', value: bibkey };
  const kind = editionKeyKind(bibkey.slice(0, colon).trim());
  return kind ? { kind, value: bibkey.slice(colon + 1).trim() } : undefined;
}

/**
 * Open Library's Books API, the part catalogues use to find covers: `GET /api/books?bibkeys=ISBN:…,OCLC:…`. Each
 * bibkey with a cover gets an entry keyed by the bibkey exactly as sent; a book known without a cover gets one with no
 * cover in it; a bibkey the catalogue never heard of is left out, as on the original.
 */
export async function booksApiRoutes(app: FastifyInstance, services: Services): Promise<void> {
  app.get('/api/books', async (request, reply) => {
    const format = (queryParam(request, 'format') ?? 'javascript').toLowerCase();
    if (format !== 'javascript' && format !== 'json') throw new JacketError(400, 'invalid_format', 'format must be javascript (the default) or json.');
    const jscmd = (queryParam(request, 'jscmd') ?? 'viewapi').toLowerCase();
    if (jscmd !== 'viewapi' && jscmd !== 'data') throw new JacketError(400, 'invalid_jscmd', 'jscmd must be viewapi (the default) or data; details is not served here.');
    const callback = checkedCallback(queryParam(request, 'callback') || undefined);
    const bibkeys = [...new Set((queryParam(request, 'bibkeys') ?? '').split(',').map((key) => key.trim()).filter(Boolean))];
    if (bibkeys.length === 0) throw new JacketError(400, 'missing_bibkeys', 'bibkeys must name at least one book, e.g. bibkeys=ISBN:9780140328721.');
    if (bibkeys.length > MAX_BIBKEYS) throw new JacketError(400, 'too_many_bibkeys', `At most ${MAX_BIBKEYS} bibkeys per request (got ${bibkeys.length}).`);

    const base = publicBase(request, services.config);
    const answer: Record<string, object> = {};
    const editions = await Promise.all(
      bibkeys.map((bibkey) => {
        const parsed = parseBibkey(bibkey);
        return parsed ? findEdition(services, parsed.kind, parsed.value) : undefined;
      }),
    );
    bibkeys.forEach((bibkey, index) => {
      const found = editions[index];
      if (!found) return;
      if (!found.cover) {
        // A book known here without a cover: its entry, with no cover in it (catalogues show their "no image").
        const key = found.olid ? { key: `/books/${found.olid}` } : {};
        answer[bibkey] = jscmd === 'data' ? key : { bib_key: bibkey, preview: 'noview' };
        return;
      }
      const edition = editionOf(base, found.cover);
      const urls = coverUrls(base, found.cover);
      answer[bibkey] =
        jscmd === 'data'
          ? { url: edition.url, key: edition.key, cover: urls }
          : { bib_key: bibkey, info_url: edition.url, preview: 'noview', preview_url: edition.url, thumbnail_url: urls.small };
    });

    const json = JSON.stringify(answer);
    reply.header('cache-control', SHORT_CACHE);
    // format=json is plain JSON whatever the callback (as the original); javascript is a script either way.
    if (format === 'json') return reply.type('application/json; charset=utf-8').send(json);
    return reply.type('application/javascript; charset=utf-8').send(callback ? `${callback}(${json});` : `var _OLBookInfo = ${json};`);
  });
}
