import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Services } from '../app.ts';
import type { Cover } from '../catalogue/covers.ts';
import { JacketError } from '../errors.ts';
import { publicBase, SHORT_CACHE } from './common.ts';
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

/** `isbn:0451526538;lccn:93005405` → its identifiers; undefined when a kind is not one the Read API knows. */
function parseReadRequest(text: string): Array<{ kind: EditionKeyKind; value: string }> | undefined {
  const identifiers = text.split(';').filter(Boolean);
  if (identifiers.length === 0 || identifiers.length > MAX_IDENTIFIERS) return undefined;
  const parsed: Array<{ kind: EditionKeyKind; value: string }> = [];
  for (const identifier of identifiers) {
    const colon = identifier.indexOf(':');
    const kind = colon > 0 ? editionKeyKind(identifier.slice(0, colon)) : undefined;
    if (!kind) return undefined;
    parsed.push({ kind, value: identifier.slice(colon + 1) });
  }
  return parsed;
}

function unknownKind(text: string): JacketError {
  return new JacketError(400, 'invalid_identifier_kind', `"${text.slice(0, 60)}" is not isbn:, oclc:, lccn: or olid: followed by a value.`);
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

  function send(reply: FastifyReply, body: object) {
    return reply.header('cache-control', SHORT_CACHE).type('application/json; charset=utf-8').send(JSON.stringify(body));
  }

  app.get<{ Params: { kind: string; file: string } }>('/api/volumes/brief/:kind/:file', async (request, reply) => {
    const kind = editionKeyKind(request.params.kind);
    const match = /^(.+)\.json$/i.exec(request.params.file);
    if (!kind || !match) throw unknownKind(`${request.params.kind}:${request.params.file}`);
    return send(reply, await answer(request, [{ kind, value: match[1]! }]));
  });

  app.get<{ Params: { requests: string } }>('/api/volumes/brief/json/:requests', async (request, reply) => {
    const texts = request.params.requests.split('|').filter(Boolean);
    if (texts.length === 0) throw unknownKind('');
    if (texts.length > MAX_REQUESTS) throw new JacketError(400, 'too_many_requests_in_url', `At most ${MAX_REQUESTS} |-separated requests per call (got ${texts.length}).`);
    const parsed = texts.map((text) => {
      const identifiers = parseReadRequest(text);
      if (!identifiers) throw unknownKind(text);
      return identifiers;
    });
    const body: Record<string, ReadAnswer> = {};
    for (const [index, text] of texts.entries()) body[text] = await answer(request, parsed[index]!);
    return send(reply, body);
  });
}
