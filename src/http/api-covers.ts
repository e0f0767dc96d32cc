import type { FastifyInstance } from 'fastify';
import type { Services } from '../services.ts';
import { COLLECTION_SORTS, type Category, type CollectionSort, type Cover } from '../catalogue/covers.ts';
import { checkedTitleEdit, foldWords, MAX_SEARCH_WORDS, titleOf } from '../catalogue/titles.ts';
import { requirePermission } from '../auth.ts';
import { JacketError } from '../errors.ts';
import { CATEGORY_OLID_KIND, EDITION_SCHEMES, isEditionScheme, normaliseIdentifier, normaliseIsbn, parseOlid, type EditionScheme } from '../identifiers/index.ts';
import { coverIdParam, coverRecord, idParams } from './api-moderation.ts';
import { errorSchema, first, readForm, security } from './common.ts';

/** A PATCH body's identifiers, every value normalised as at upload; a 400 naming the first that is not valid. */
function identifierEdit(raw: unknown): Partial<Record<EditionScheme, string[]>> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new JacketError(400, 'invalid_identifier', 'identifiers must be an object of lists, e.g. {"isbn": ["9780385472579"]}.');
  }
  const edit: Partial<Record<EditionScheme, string[]>> = {};
  for (const [scheme, values] of Object.entries(raw)) {
    if (!isEditionScheme(scheme)) throw new JacketError(400, 'invalid_identifier', `"${scheme.slice(0, 20)}" is not an identifier kind; use one of ${EDITION_SCHEMES.join(', ')}.`);
    if (!Array.isArray(values) || values.length > 100) throw new JacketError(400, 'invalid_identifier', `${scheme} must be a list of at most 100 values.`);
    edit[scheme] = [
      ...new Set(
        values.map((value) => {
          const normalised = typeof value === 'string' ? normaliseIdentifier(scheme, value) : undefined;
          if (normalised === undefined) throw new JacketError(400, 'invalid_identifier', `"${String(value).slice(0, 40)}" is not a valid ${scheme} (check the digits).`);
          return normalised;
        }),
      ),
    ];
  }
  return edit;
}

const nullableString = { type: ['string', 'null'] } as const;

/** A cover as the collection API describes it (coverRecord): every field, so the documented shape is the sent one. */
const coverSchema = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    category: { type: 'string', enum: ['b', 'a', 'w'] },
    olid: nullableString,
    status: { type: 'string', enum: ['approved', 'pending', 'rejected', 'deleted'] },
    width: { type: 'integer' },
    height: { type: 'integer' },
    mime: { type: 'string' },
    byteSize: { type: 'integer' },
    sourceUrl: nullableString,
    author: { ...nullableString, description: 'The upload form’s `author` as sent (Open Library’s site sends the uploader’s account there)' },
    title: nullableString,
    authors: { type: 'array', items: { type: 'string' } },
    authorKeys: { type: 'array', items: { type: 'string' }, description: 'Open Library author ids, as an editions dump names them' },
    created: { type: 'string', format: 'date-time' },
    lastModified: { type: 'string', format: 'date-time' },
    identifiers: { type: 'array', items: { type: 'object', properties: { scheme: { type: 'string' }, value: { type: 'string' } } } },
  },
} as const;

/** What a collection search looks for: one identifier, one entity, or title and author words. */
type CollectionSearch = { identifier: { scheme: EditionScheme; value: string } } | { olid: string } | { words: string[] };

/**
 * `q` as the collection search reads it: `scheme:value` (`oclc:123`) names an identifier of that kind; a bare ISBN
 * (either length, hyphens allowed, right check digit) or OLID (`OL7353617M`) names that; anything else is words of a
 * title or an author's name, every one of which must match (the last as a prefix). Identifiers are normalised as the
 * lookups normalise them, so whatever `/b/isbn/…` finds, the collection search finds too.
 */
function collectionSearch(q: string): CollectionSearch {
  const text = q.trim();
  const kind = /^([a-z]+):(.*)$/i.exec(text);
  if (kind && isEditionScheme(kind[1]!.toLowerCase())) {
    const scheme = kind[1]!.toLowerCase() as EditionScheme;
    const value = normaliseIdentifier(scheme, kind[2]!);
    if (value === undefined) throw new JacketError(400, 'invalid_query', `"${kind[2]!.slice(0, 40)}" is not a valid ${scheme} (check the digits).`);
    return { identifier: { scheme, value } };
  }
  const olid = parseOlid(text);
  if (olid) return { olid: olid.olid };
  const isbn = normaliseIsbn(text);
  if (isbn !== undefined) return { identifier: { scheme: 'isbn', value: isbn } };
  const words = foldWords(text);
  if (words.length === 0) throw new JacketError(400, 'invalid_query', 'q has no word to search for: give an identifier, or words of a title or an author’s name.');
  if (words.length > MAX_SEARCH_WORDS) throw new JacketError(400, 'invalid_query', `q has ${words.length} words; a search takes at most ${MAX_SEARCH_WORDS}.`);
  return { words };
}

/** The librarian's collection API (administrator): browse and search every cover, correct, replace or delete one. */
export async function coverRoutes(app: FastifyInstance, services: Services): Promise<void> {
  const { auth, catalogue, ingest } = services;
  requirePermission(app, auth, 'admin');

  async function liveCover(id: number): Promise<Cover> {
    const cover = await catalogue.getCover(id);
    if (!cover || cover.deleted) throw new JacketError(404, 'not_found', `There is no cover ${id} (or it was deleted).`);
    return cover;
  }

  app.get(
    '/api/v1/covers',
    {
      schema: {
        summary: 'Browse and search the collection (administrator): every cover not deleted, pending ones included',
        description:
          '`q` is an identifier (`scheme:value`, or a bare ISBN or OLID), matched as the lookups match it, or else words of a title or an author’s name (every word must match, the last as a prefix; at most 8 words; at most 500 editions or covers are searched through). `identifiers=none` keeps the covers no identifier leads to. `sort` is `recent` (newest first, the default), `oldest`, or `modified` (last changed first). `total` counts the matches up to 1,000 past this page (`totalExact` false: more match), so a listing of millions of covers costs one page.',
        tags: ['covers'],
        security,
        querystring: {
          type: 'object',
          properties: {
            q: { type: 'string', maxLength: 80 },
            category: { type: 'string', enum: ['b', 'a', 'w'] },
            status: { type: 'string', enum: ['pending', 'approved', 'rejected'] },
            identifiers: { type: 'string', enum: ['none'], description: '`none`: only covers that no identifier leads to' },
            sort: { type: 'string', enum: [...COLLECTION_SORTS], default: 'recent' },
            limit: { type: 'integer', minimum: 1, maximum: 200, default: 50 },
            offset: { type: 'integer', minimum: 0, default: 0 },
          },
        },
        response: {
          200: { type: 'object', properties: { total: { type: 'integer' }, totalExact: { type: 'boolean' }, covers: { type: 'array', items: coverSchema } } },
          400: errorSchema,
          401: errorSchema,
        },
      },
    },
    async (request, reply) => {
      const query = request.query as { q?: string; category?: Category; status?: Cover['status']; identifiers?: 'none'; sort: CollectionSort; limit: number; offset: number };
      const search = query.q?.trim() ? collectionSearch(query.q) : {};
      const page = await catalogue.browseCovers({ ...query, ...search, withoutIdentifiers: query.identifiers === 'none' });
      const covers = await Promise.all(page.covers.map((cover) => coverRecord(services, cover)));
      return reply.header('cache-control', 'private, no-store').send({ total: page.total, totalExact: page.totalExact, covers });
    },
  );

  app.patch<{ Body: { identifiers?: unknown; olid?: string | null; title?: unknown; authors?: unknown } }>(
    '/api/v1/covers/:id',
    {
      schema: {
        summary: 'Correct a cover (administrator): its identifiers, edition, title or authors; every lookup follows at once',
        description:
          '`identifiers` is `{"isbn": [...], "oclc": [...], …}`: each kind given replaces that kind (on the edition when the cover has one, else on the cover); values are normalised and validated as at upload. `olid` moves the cover to another Open Library entity of its kind, or `null` to none. `title` (one line, at most 500 characters; `""` or `null` removes it) and `authors` (a list of at most 20 names) replace the book’s, kept where its identifiers are.',
        tags: ['covers'],
        security,
        params: idParams,
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            identifiers: { type: 'object', additionalProperties: { type: 'array', items: { type: 'string' } }, examples: [{ isbn: ['9780385472579'] }] },
            olid: { type: ['string', 'null'], examples: ['OL7353617M'] },
            title: { type: ['string', 'null'], examples: ['Things Fall Apart'] },
            authors: { type: 'array', items: { type: 'string' }, examples: [['Chinua Achebe']] },
          },
        },
        response: { 200: coverSchema, 400: errorSchema, 401: errorSchema, 404: errorSchema },
      },
    },
    async (request) => {
      const cover = await liveCover(coverIdParam(request));
      const body = request.body ?? {};
      const identifiers = body.identifiers === undefined ? undefined : identifierEdit(body.identifiers);
      let olid: { olid: string; kind: (typeof CATEGORY_OLID_KIND)[Category] } | null | undefined;
      if (body.olid === null) olid = null;
      else if (body.olid !== undefined) {
        const parsed = parseOlid(body.olid);
        const kind = CATEGORY_OLID_KIND[cover.category];
        if (!parsed || parsed.kind !== kind) throw new JacketError(400, 'invalid_olid', `"${body.olid.slice(0, 40)}" is not an Open Library ${kind} id.`);
        olid = { olid: parsed.olid, kind };
      }
      const title = checkedTitleEdit(body);
      const edited = await catalogue.editCover(cover.id, { identifiers, olid, title });
      request.log.info({ coverId: cover.id }, 'cover corrected');
      return coverRecord(services, edited!);
    },
  );

  app.post(
    '/api/v1/covers/:id/replace',
    {
      schema: {
        summary: 'Replace a cover’s image (administrator): a new cover takes over its edition and identifiers',
        description:
          'multipart `data` (or `file`): the new image, held to the upload limits. The new cover is the one every lookup by edition or identifier serves from then on; the old id keeps serving its own bytes (id URLs are immutable) and is listed in the history.',
        tags: ['covers'],
        consumes: ['multipart/form-data'],
        security,
        params: idParams,
        response: {
          201: { type: 'object', properties: { ...coverSchema.properties, replaces: { type: 'integer', description: 'The id of the cover replaced' } } },
          400: errorSchema,
          401: errorSchema,
          404: errorSchema,
          413: errorSchema,
        },
      },
    },
    async (request, reply) => {
      const old = await liveCover(coverIdParam(request));
      const form = await readForm(request, services.intake.maxImageBytes, ['data', 'file']);
      const replacement = await ingest.addCover({
        category: old.category,
        olid: old.olid ?? undefined,
        bytes: form.files.find((file) => file.field === 'data' || file.field === 'file')?.bytes,
        author: first(form, 'author') ?? old.author ?? undefined,
        // The edition's identifiers and title stay with the edition; the cover's own come along.
        identifiers: old.olid ? [] : await catalogue.identifiersOf({ id: old.id, olid: null }),
        title: old.olid ? undefined : await titleOf(catalogue.db, { id: old.id, olid: null }),
        status: services.moderation ? 'pending' : 'approved',
      });
      request.log.info({ coverId: replacement.id, replaces: old.id }, 'cover replaced');
      return reply.code(201).send({ ...(await coverRecord(services, replacement)), replaces: old.id });
    },
  );

  app.get(
    '/api/v1/covers/:id/history',
    {
      schema: {
        summary: 'Every cover of the same edition or identifiers, newest first (administrator)',
        tags: ['covers'],
        security,
        params: idParams,
        response: { 200: { type: 'object', properties: { id: { type: 'integer' }, covers: { type: 'array', items: coverSchema } } }, 400: errorSchema, 401: errorSchema, 404: errorSchema },
      },
    },
    async (request, reply) => {
      const id = coverIdParam(request);
      const cover = await catalogue.getCover(id);
      if (!cover) throw new JacketError(404, 'not_found', `There is no cover ${id}.`);
      const covers = await Promise.all((await catalogue.historyOf(cover)).map((item) => coverRecord(services, item)));
      return reply.header('cache-control', 'private, no-store').send({ id, covers });
    },
  );

  app.delete(
    '/api/v1/covers/:id',
    {
      schema: {
        summary: 'Delete a cover (administrator): gone from every route at once, as `/b/delete`',
        description: 'The cover is marked deleted: lookups, listings and its id URLs stop serving it, and the collection lists it no more.',
        tags: ['covers'],
        security,
        params: idParams,
        response: { 200: { type: 'object', properties: { id: { type: 'integer' }, status: { type: 'string', enum: ['deleted'] } } }, 400: errorSchema, 401: errorSchema, 404: errorSchema },
      },
    },
    async (request) => {
    const id = coverIdParam(request);
    const deleted = await catalogue.deleteCover(id);
    if (!deleted) throw new JacketError(404, 'not_found', `There is no cover ${id} (or it was already deleted).`);
    request.log.info({ coverId: id }, 'cover deleted');
    return { id, status: 'deleted' };
  },
  );
}
