import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Services } from '../app.ts';
import { type Category, type Cover, type IdentifierInput } from '../catalogue/covers.ts';
import { sizeTag } from '../delivery/answer.ts';
import { COVER_KEYS, type CoverKey } from '../delivery/resolve.ts';
import { JacketError } from '../errors.ts';
import { EDITION_SCHEMES, normaliseIdentifier, parseCoverId, parseOlid } from '../identifiers/index.ts';
import { renditionFormatForExtension, type RenditionFormat } from '../images/render.ts';
import { openLibrarySize, type OpenLibrarySize } from '../images/sizes.ts';
import { BLANK_GIF, errorBody, first, LONG_CACHE, queryParam, readForm, SHORT_CACHE, type FormData } from './common.ts';

export const CATEGORIES: Category[] = ['b', 'a', 'w'];
const CATEGORY_IDS: Record<Category, number> = { b: 1, a: 2, w: 3 };
const LOOKUP_KEYS = COVER_KEYS;
type LookupKey = CoverKey;

export interface CoverPath {
  key: LookupKey;
  value: string;
  size?: OpenLibrarySize;
  /** `json` for metadata, else the image format asked for by the extension. */
  kind: 'json' | RenditionFormat;
}

/**
 * `/{cat}/{key}/{value}[-{S|M|L}].{jpg|webp|avif|json}`. Anything else (lower-case or unknown sizes, unknown keys,
 * other extensions) is "not found", not a 400, as on the original service.
 */
export function parseCoverPath(rawKey: string, file: string): CoverPath | undefined {
  const key = rawKey.toLowerCase();
  if (!(LOOKUP_KEYS as readonly string[]).includes(key)) return undefined;
  const dot = file.lastIndexOf('.');
  if (dot <= 0) return undefined;
  const extension = file.slice(dot + 1);
  let stem = file.slice(0, dot);
  if (extension.toLowerCase() === 'json') return { key: key as LookupKey, value: stem, kind: 'json' };
  const format = renditionFormatForExtension(extension);
  if (!format) return undefined;
  const sized = /^(.+)-([SML])$/.exec(stem);
  let size: OpenLibrarySize | undefined;
  if (sized) {
    stem = sized[1]!;
    size = sized[2] as OpenLibrarySize;
  }
  return { key: key as LookupKey, value: stem, size, kind: format };
}

/**
 * A caller-supplied redirect target (`default`, `success_url`, `failure_url`, `redirect_url`) as a safe Location header:
 * an absolute http(s) URL or a same-site path, percent-encoded (control and non-ASCII characters cannot reach the
 * header); undefined for anything else (other schemes, unparsable text).
 */
export function redirectLocation(raw: string | undefined, extraParams: Record<string, string> = {}): string | undefined {
  if (!raw) return undefined;
  const absolute = /^https?:\/\//i.test(raw);
  if (!absolute && !/^\/(?![\/\\])/.test(raw)) return undefined;
  let target: URL;
  try {
    target = absolute ? new URL(raw) : new URL(raw, 'http://placeholder.invalid');
  } catch {
    return undefined;
  }
  if (target.protocol !== 'http:' && target.protocol !== 'https:') return undefined;
  if (!absolute && target.host !== 'placeholder.invalid') return undefined;
  for (const [name, value] of Object.entries(extraParams)) target.searchParams.set(name, value);
  return absolute ? target.href : target.pathname + target.search + target.hash;
}

/** Answer for a cover that is not there: the blank GIF, a 404 (`?default=false`) or a 303 to the caller's default. */
function sendMissing(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const fallback = queryParam(request, 'default');
  if (fallback !== undefined && fallback.toLowerCase() === 'false') {
    return reply.code(404).send({ error: 'not_found', message: 'No cover matches this request.' });
  }
  const location = fallback !== undefined && /^https?:\/\//i.test(fallback) ? redirectLocation(fallback) : undefined;
  if (location) {
    return reply.code(303).header('location', location).header('cache-control', SHORT_CACHE).send();
  }
  return reply.code(200).type('image/gif').header('cache-control', SHORT_CACHE).send(BLANK_GIF);
}

export function coverJson(cover: Cover) {
  const padded = String(cover.id).padStart(10, '0');
  return {
    id: cover.id,
    category_id: CATEGORY_IDS[cover.category],
    olid: cover.olid,
    filename: `${padded}.jpg`,
    filename_s: `${padded}-S.jpg`,
    filename_m: `${padded}-M.jpg`,
    filename_l: `${padded}-L.jpg`,
    author: cover.author,
    source_url: cover.sourceUrl,
    width: cover.width,
    height: cover.height,
    mime_type: cover.mime,
    byte_size: cover.byteSize,
    failed: false,
    archived: false,
    uploaded: true,
    deleted: cover.deleted,
    created: new Date(cover.createdAt).toISOString(),
    last_modified: new Date(cover.modifiedAt).toISOString(),
  };
}

const JSONP_CALLBACK = /^[A-Za-z_$][\w$]{0,63}(\.[A-Za-z_$][\w$]{0,63}){0,4}$/;

/** A JSONP callback name as given, once it is known to be a (dotted) JavaScript identifier: nothing else reaches a script. */
export function checkedCallback(callback: string | undefined): string | undefined {
  if (callback !== undefined && !JSONP_CALLBACK.test(callback)) {
    throw new JacketError(400, 'invalid_callback', 'callback must be a JavaScript identifier (letters, digits, _ and $, dotted).');
  }
  return callback;
}

/** Open Library's numeric upload error codes (1–3 are the original's; 4 is ours, for identifiers). */
function uploadErrorCode(code: string): { code: number; message: string } | undefined {
  if (['no_image', 'malformed_multipart', 'too_many_parts', 'unsupported_media_type', 'unexpected_file'].includes(code)) return { code: 1, message: 'No image found' };
  if (code === 'invalid_url' || code.startsWith('source_url')) return { code: 2, message: 'Invalid URL' };
  if (['empty_image', 'unsupported_format', 'corrupt_image', 'too_many_pixels', 'payload_too_large'].includes(code)) return { code: 3, message: 'Invalid Image' };
  if (code === 'invalid_olid' || code === 'invalid_identifier') return { code: 4, message: 'Invalid identifier' };
  return undefined;
}

/** An upload error in Open Library's shape (numeric `code` and its message) with our machine code and sentence. */
export function uploadErrorBody(body: { error: string; message: string }): object {
  const mapped = uploadErrorCode(body.error);
  return mapped ? { code: mapped.code, message: mapped.message, error: body.error, detail: body.message } : body;
}

/** The upload routes, whose errors (even those raised before the handler runs) take the Open Library shape. */
export const UPLOAD_ROUTE = /^\/[abw]\/upload2?$/;

function identifiersFromForm(form: FormData): IdentifierInput[] {
  const identifiers: IdentifierInput[] = [];
  for (const scheme of EDITION_SCHEMES) {
    for (const raw of form.fields.get(scheme) ?? []) {
      for (const part of raw.split(',').map((item) => item.trim()).filter(Boolean)) {
        const value = normaliseIdentifier(scheme, part);
        if (!value) throw new JacketError(400, 'invalid_identifier', `"${part.slice(0, 40)}" is not a valid ${scheme}.`);
        identifiers.push({ scheme, value });
      }
    }
  }
  return identifiers;
}

export async function openLibraryRoutes(app: FastifyInstance, services: Services): Promise<void> {
  const { catalogue, delivery, auth, ingest, config } = services;

  /** Per-dialect hook for rate limits on identifier lookups (issue 4 installs it). */
  const beforeLookup = services.hooks.openLibraryLookup;

  async function serveCover(request: FastifyRequest<{ Params: { key: string; file: string } }>, reply: FastifyReply, category: Category) {
    const path = parseCoverPath(request.params.key, request.params.file);
    if (!path) {
      // An unknown key asked for metadata is a plain 404, as for a known key with no cover.
      if (/\.json$/i.test(request.params.file)) return reply.code(404).send({ error: 'not_found', message: 'No cover matches this request.' });
      return sendMissing(request, reply);
    }
    if (beforeLookup && path.key !== 'id' && path.key !== 'olid') await beforeLookup(request, reply);
    const cover = await delivery.resolve.cover(category, path.key, path.value);
    if (path.kind === 'json') {
      if (!cover) return reply.code(404).send({ error: 'not_found', message: 'No cover matches this request.' });
      if (path.key !== 'id') return reply.code(302).header('location', `/${category}/id/${cover.id}.json`).header('cache-control', SHORT_CACHE).send();
      return reply.header('cache-control', SHORT_CACHE).send(coverJson(cover));
    }
    if (!cover) return sendMissing(request, reply);
    const size = path.size;
    return delivery.answer(request, reply, {
      image: cover,
      // Without a size, a .jpg is the original, byte-identical, with its true content type (whatever extension was asked).
      format: !size && path.kind === 'jpeg' ? 'original' : path.kind,
      target: size ? openLibrarySize(cover.width, cover.height, size) : { width: cover.width, height: cover.height },
      etag: (format) => sizeTag(cover.id, size, format),
      // An id names one immutable image: its creation time. Other keys name "the entity's current cover", which changes
      // when another cover is touched to the top: a client revalidating by date alone must then see the change.
      lastModified: path.key === 'id' ? cover.createdAt : Math.max(cover.createdAt, cover.modifiedAt),
      cacheControl: path.key === 'id' ? LONG_CACHE : SHORT_CACHE,
    });
  }

  /** The cover an upload form (either form: upload2 or the legacy upload) describes, its image under `data` or `file`. */
  function addCoverFromForm(form: FormData, category: Category, olid: string | undefined): Promise<Cover> {
    return ingest.addCover({
      category,
      olid,
      bytes: form.files.find((file) => file.field === 'data' || file.field === 'file')?.bytes,
      sourceUrl: first(form, 'source_url'),
      author: first(form, 'author'),
      identifiers: identifiersFromForm(form),
      status: services.moderation ? 'pending' : 'approved',
    });
  }

  async function requireUploader(request: FastifyRequest) {
    return auth.require(request, 'upload');
  }

  for (const category of CATEGORIES) {
    app.get<{ Params: { key: string; file: string } }>(`/${category}/:key/:file`, (request, reply) => serveCover(request, reply, category));

    app.get(`/${category}/query`, async (request, reply) => {
      const query = {
        olid: queryParam(request, 'olid'),
        offset: queryParam(request, 'offset'),
        limit: queryParam(request, 'limit'),
        details: queryParam(request, 'details'),
        cmd: queryParam(request, 'cmd'),
        callback: queryParam(request, 'callback'),
      };
      const offset = !query.offset ? 0 : Number(query.offset);
      const limit = !query.limit ? 10 : Number(query.limit);
      if (!Number.isInteger(offset) || offset < 0 || offset > 1_000_000) throw new JacketError(400, 'invalid_offset', 'offset must be a whole number ≥ 0.');
      if (!Number.isInteger(limit) || limit < 1) throw new JacketError(400, 'invalid_limit', 'limit must be a whole number ≥ 1 (at most 100 are returned).');
      const callback = checkedCallback(query.callback);
      // At most 100 distinct OLIDs (a page holds at most 100 covers anyway); this also bounds the SQL shapes.
      const olids = [
        ...new Set(
          (query.olid ?? '')
            .split(',')
            .map((item) => parseOlid(item)?.olid)
            .filter((item): item is string => item !== undefined),
        ),
      ].slice(0, 100);
      if (query.olid && olids.length === 0) return sendJson(reply, callback, query.cmd === 'ids' ? {} : []);
      const covers = await catalogue.query({ category, olids: olids.length ? olids : undefined, offset, limit: Math.min(limit, 100) });
      let result: unknown;
      if (query.cmd === 'ids') {
        const byOlid: Record<string, number> = {};
        for (const cover of covers) if (cover.olid && byOlid[cover.olid] === undefined) byOlid[cover.olid] = cover.id;
        result = byOlid;
      } else if (query.details === 'true') {
        result = covers.map((cover) => ({
          id: cover.id,
          olid: cover.olid,
          created: new Date(cover.createdAt).toISOString(),
          last_modified: new Date(cover.modifiedAt).toISOString(),
          source_url: cover.sourceUrl,
          width: cover.width,
          height: cover.height,
        }));
      } else {
        result = covers.map((cover) => cover.id);
      }
      return sendJson(reply, callback, result);
    });

    app.post(`/${category}/upload2`, async (request, reply) => {
      try {
        await requireUploader(request);
        const form = await readForm(request, config.maxUploadBytes);
        const cover = await addCoverFromForm(form, category, first(form, 'olid'));
        return reply.send({ ok: 'true', id: cover.id, status: cover.status });
      } catch (error) {
        return sendUploadError(reply, error);
      }
    });

    app.post(`/${category}/upload`, async (request, reply) => {
      let form: FormData | undefined;
      try {
        await requireUploader(request);
        form = await readForm(request, config.maxUploadBytes);
        const olid = first(form, 'olid');
        if (!olid) throw new JacketError(400, 'invalid_olid', 'The legacy upload form needs an olid.');
        const cover = await addCoverFromForm(form, category, olid);
        return reply.code(303).header('location', redirectLocation(first(form, 'success_url')) ?? `/${category}/id/${cover.id}.json`).send();
      } catch (error) {
        const failureUrl = form ? first(form, 'failure_url') : undefined;
        const mapped = error instanceof JacketError ? uploadErrorCode(error.code) : undefined;
        const location = error instanceof JacketError ? redirectLocation(failureUrl, { errcode: String(mapped?.code ?? 0), errmsg: error.message }) : undefined;
        if (location) return reply.code(303).header('location', location).send();
        return sendUploadError(reply, error);
      }
    });

    for (const action of ['delete', 'touch'] as const) {
      app.post(`/${category}/${action}`, async (request, reply) => {
        await auth.require(request, 'admin');
        const form = await readForm(request, 0);
        const id = parseCoverId(first(form, 'id') ?? '');
        if (id === undefined) throw new JacketError(400, 'invalid_id', 'id must be a cover id (a positive whole number).');
        const done = action === 'delete' ? await catalogue.deleteCover(id) : await catalogue.touchCover(id);
        if (!done) throw new JacketError(404, 'not_found', `There is no cover ${id}.`);
        const redirect = redirectLocation(first(form, 'redirect_url'));
        if (redirect) return reply.code(303).header('location', redirect).send();
        return reply.send({ ok: 'true', id });
      });
    }
  }

  function sendJson(reply: FastifyReply, callback: string | undefined, value: unknown) {
    if (callback) return reply.type('application/javascript; charset=utf-8').send(`${callback}(${JSON.stringify(value)});`);
    return reply.type('application/json; charset=utf-8').send(JSON.stringify(value));
  }

  function sendUploadError(reply: FastifyReply, error: unknown) {
    const rendered = errorBody(error);
    if (rendered.status >= 500) throw error;
    return reply.code(rendered.status).headers(rendered.headers).send(uploadErrorBody(rendered.body));
  }

}
