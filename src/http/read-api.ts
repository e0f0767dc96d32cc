import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Services } from '../services.ts';
import type { Cover } from '../catalogue/covers.ts';
import { JacketError } from '../errors.ts';
import { publicBase, queryParam, SHORT_CACHE } from './common.ts';
import { checkedCallback } from './openlibrary.ts';
import { coverUrls, editionCover, editionKeyKind, editionOf, type EditionKeyKind } from './edition-records.ts';

/**
 * Requests (`|`-separated) and identifiers per request (`;`-separated) in one multi-form call. The path segment is
 * capped at 500 characters anyway (a longer one is 414); these bound the lookups of one call.
 */
const MAX_REQUESTS = 50;
const MAX_IDENTIFIERS = 10;

interface ReadRecord {
  recordURL: string;
  data: { url: string; key: string; cover: { small: string; medium: string; large: string } };
  isbns: string[];
  oclcs: string[];
  lccns: string[];
  olids: string[];
  issns: string[];
  publishDates: string[];
}

/** One request's answer: every edition its identifiers name, keyed by the edition's key; Jacket lends nothing. */
interface ReadAnswer {
  records: Record<string, ReadRecord>;
  items: never[];
}

/**
 * `id:0;isbn:0451526538;lccn:93005405` → the identifiers Jacket can look up. Other kinds are kept out, not refused:
 * `id:` is the caller's own label for the request (Open Library's read-API script sends one), `iaid:` names scans.
 * Undefined when a part is not `kind:value` at all.
 */
function parseReadRequest(text: string): Array<{ kind: EditionKeyKind; value: string }> | undefined {
  const identifiers = text.split(';').filter(Boolean);
  if (identifiers.length === 0 || identifiers.length > MAX_IDENTIFIERS) return undefined;
  const parsed: Array<{ kind: EditionKeyKind; value: string }> = [];
  for (const identifier of identifiers) {
    const colon = identifier.indexOf(':');
    if (colon <= 0) return undefined;
    const kind = editionKeyKind(identifier.slice(0, colon));
    if (kind) parsed.push({ kind, value: identifier.slice(colon + 1) });
  }
  return parsed;
}

/** A multi-form answer is filed under the request's `id:` label when it has one (so the caller finds its own), else its text. */
function answerKey(text: string): string {
  const label = text.split(';').find((identifier) => identifier.toLowerCase().startsWith('id:'));
  return label ? label.slice(3) : text;
}

function notAnIdentifier(text: string): JacketError {
  return new JacketError(400, 'invalid_identifier', `"${text.slice(0, 60)}" is not kind:value (isbn:, oclc:, lccn: or olid: followed by the value).`);
}

/**
 * Open Library's Read API, as catalogues (Evergreen's added content) ask it for covers:
 * `/api/volumes/brief/{isbn|oclc|lccn|olid}/{value}.json` and `/api/volumes/brief/json/{kind}:{value}[;…][|…]`.
 * An identifier that names nothing answers 200 with no records, never 404: clients read the body unconditionally.
 */
export async function readApiRoutes(app: FastifyInstance, services: Services): Promise<void> {
  async function answer(request: FastifyRequest, identifiers: Array<{ kind: EditionKeyKind; value: string }>): Promise<ReadAnswer> {
    const base = publicBase(request, services.config);
    const covers = await Promise.all(identifiers.map(({ kind, value }) => editionCover(services, kind, value)));
    const records: Record<string, ReadRecord> = {};
    for (const cover of covers) {
      if (!cover) continue;
      const edition = editionOf(base, cover);
      if (!records[edition.key]) records[edition.key] = await readRecord(base, cover, edition);
    }
    return { records, items: [] };
  }

  async function readRecord(base: string, cover: Cover, edition: ReturnType<typeof editionOf>): Promise<ReadRecord> {
    const known = await services.catalogue.identifiersOf(cover);
    const values = (scheme: string) => known.filter((identifier) => identifier.scheme === scheme).map((identifier) => identifier.value);
    return {
      recordURL: edition.url,
      data: { url: edition.url, key: edition.key, cover: coverUrls(base, cover) },
      isbns: values('isbn'),
      oclcs: values('oclc'),
      lccns: values('lccn'),
      olids: edition.olid ? [edition.olid] : [],
      issns: [],
      publishDates: [],
    };
  }

  /** JSON, or with `callback` (jQuery's JSONP, as the read-API script asks) a script calling it. */
  function send(request: FastifyRequest, reply: FastifyReply, body: object) {
    const callback = checkedCallback(queryParam(request, 'callback') || undefined);
    const json = JSON.stringify(body);
    reply.header('cache-control', SHORT_CACHE);
    if (callback) return reply.type('application/javascript; charset=utf-8').send(`${callback}(${json});`);
    return reply.type('application/json; charset=utf-8').send(json);
  }

  app.get<{ Params: { kind: string; file: string } }>('/api/volumes/brief/:kind/:file', async (request, reply) => {
    const kind = editionKeyKind(request.params.kind);
    const match = /^(.+)\.json$/i.exec(request.params.file);
    if (!match) throw new JacketError(400, 'invalid_path', 'The single form ends in .json: /api/volumes/brief/isbn/{ISBN}.json.');
    // A kind Jacket does not look up names nothing here: no records, as for an unknown ISBN.
    return send(request, reply, await answer(request, kind ? [{ kind, value: match[1]! }] : []));
  });

  app.get<{ Params: { requests: string } }>('/api/volumes/brief/json/:requests', async (request, reply) => {
    const texts = request.params.requests.split('|').filter(Boolean);
    if (texts.length === 0) throw notAnIdentifier('');
    if (texts.length > MAX_REQUESTS) throw new JacketError(400, 'too_many_requests_in_url', `At most ${MAX_REQUESTS} |-separated requests per call (got ${texts.length}).`);
    const parsed = texts.map((text) => {
      const identifiers = parseReadRequest(text);
      if (!identifiers) throw notAnIdentifier(text);
      return identifiers;
    });
    const body: Record<string, ReadAnswer> = {};
    for (const [index, text] of texts.entries()) body[answerKey(text)] = await answer(request, parsed[index]!);
    return send(request, reply, body);
  });
}
