import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Services } from '../services.ts';
import { type Category, type Cover, type IdentifierInput } from '../catalogue/covers.ts';
import { checkedTitleEdit, type TitleEdit } from '../catalogue/titles.ts';
import { sizeTag } from '../delivery/answer.ts';
import { ANYONE, WITHIN_IP_LIMIT } from '../delivery/hot-rule.ts';
import { COVER_KEYS, type CoverKey } from '../delivery/resolve.ts';
import { JacketError } from '../errors.ts';
import { EDITION_SCHEMES, normaliseIdentifier, parseCoverId, parseOlid } from '../identifiers/index.ts';
import { renditionFormatForExtension, type RenditionFormat } from '../images/render.ts';
import { openLibrarySize, type OpenLibrarySize } from '../images/sizes.ts';
import { presentedCredential } from '../limits/public.ts';
import { BLANK_GIF, errorHandler, first, LONG_CACHE, queryParam, readForm, SHORT_CACHE, type FormData } from './common.ts';

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
  // The original's test, to the letter: a default that starts with `http://` or `https://` (lower case) is a URL;
  // anything else but `false` asks for the blank image.
  const location = fallback !== undefined && /^https?:\/\//.test(fallback) ? redirectLocation(fallback) : undefined;
  if (location) {
    return reply.code(303).header('location', location).header('cache-control', SHORT_CACHE).send();
  }
  return reply.code(200).type('image/gif').header('cache-control', SHORT_CACHE).send(BLANK_GIF);
}

/**
 * A time as coverstore writes it: Python's `isoformat()` of a UTC time without a zone, `2008-04-28T19:44:52` or with
 * microseconds `…52.654000` (clients parse it with `datetime.fromisoformat`, which before Python 3.11 refuses a `Z`).
 */
export function coverstoreTime(ms: number): string {
  const iso = new Date(ms).toISOString();
  const fraction = iso.slice(20, 23);
  return fraction === '000' ? iso.slice(0, 19) : `${iso.slice(0, 19)}.${fraction}000`;
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
    // Columns of coverstore's table that its uploads leave empty.
    source: null,
    isbn: null,
    width: cover.width,
    height: cover.height,
    mime_type: cover.mime,
    byte_size: cover.byteSize,
    failed: false,
    archived: false,
    uploaded: true,
    deleted: cover.deleted,
    created: coverstoreTime(cover.createdAt),
    last_modified: coverstoreTime(cover.modifiedAt),
  };
}

/** The fields an upload form carries its image in: `data` (upload2, multipart or urlencoded) or `file` (the browser form). */
const IMAGE_FIELDS = ['data', 'file'];

/** A whole number as Python's `int()` reads one (spaces and a sign allowed); undefined for anything else. */
function wholeNumber(text: string | undefined): number | undefined {
  const match = text === undefined ? null : /^\s*([+-]?\d{1,15})\s*$/.exec(text);
  return match ? Number(match[1]) : undefined;
}

const JSONP_CALLBACK = /^[A-Za-z_$][\w$]{0,63}(\.[A-Za-z_$][\w$]{0,63}){0,4}$/;

/** A JSONP callback name as given, once it is known to be a (dotted) JavaScript identifier: nothing else reaches a script. */
export function checkedCallback(callback: string | undefined): string | undefined {
  if (callback !== undefined && !JSONP_CALLBACK.test(callback)) {
    throw new JacketError(400, 'invalid_callback', 'callback must be a JavaScript identifier (letters, digits, _ and $, dotted).');
  }
  return callback;
}

/** Open Library's numeric upload error codes (1–3 are the original's; 4 and 5 are ours, for identifiers and titles). */
function uploadErrorCode(code: string): { code: number; message: string } | undefined {
  if (['no_image', 'malformed_multipart', 'too_many_parts', 'unsupported_media_type', 'unexpected_file'].includes(code)) return { code: 1, message: 'No image found' };
  if (code === 'invalid_url' || code.startsWith('source_url')) return { code: 2, message: 'Invalid URL' };
  if (['empty_image', 'unsupported_format', 'corrupt_image', 'too_many_pixels', 'payload_too_large'].includes(code)) return { code: 3, message: 'Invalid Image' };
  if (code === 'invalid_olid' || code === 'invalid_identifier') return { code: 4, message: 'Invalid identifier' };
  if (code === 'invalid_title' || code === 'invalid_authors') return { code: 5, message: 'Invalid title or author' };
  return undefined;
}

/** An upload error in Open Library's shape (numeric `code` and its message) with our machine code and sentence. */
export function uploadErrorBody(body: { error: string; message: string }): object {
  const mapped = uploadErrorCode(body.error);
  return mapped ? { code: mapped.code, message: mapped.message, error: body.error, detail: body.message } : body;
}

/**
 * The book's title and authors an upload form names: `title`, and each `author` that is a name. Open Library's own
 * site sends `author` as the uploader's account (`/people/…`), which coverstore keeps as the cover's `author` and
 * so does Jacket; such a value names no author of the book.
 */
function titleFromForm(form: FormData): TitleEdit | undefined {
  const authors = (form.fields.get('author') ?? []).filter((value) => value.trim() !== '' && !value.trim().startsWith('/people/'));
  const title = first(form, 'title');
  if (title === undefined && authors.length === 0) return undefined;
  return checkedTitleEdit({ title, authors: authors.length > 0 ? authors : undefined });
}

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
  const { catalogue, delivery, auth, ingest } = services;

  /** Per-dialect hook for rate limits on identifier lookups (issue 4 installs it). */
  const beforeLookup = services.hooks.openLibraryLookup;

  async function serveCover(request: FastifyRequest<{ Params: { key: string; file: string } }>, reply: FastifyReply, category: Category) {
    const path = parseCoverPath(request.params.key, request.params.file);
    if (!path) {
      // An unknown key asked for metadata is a plain 404, as for a known key with no cover.
      if (/\.json$/i.test(request.params.file)) return reply.code(404).send({ error: 'not_found', message: 'No cover matches this request.' });
      return sendMissing(request, reply);
    }
    const limited = beforeLookup !== undefined && path.key !== 'id' && path.key !== 'olid';
    if (limited) await beforeLookup(request, reply);
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
      // A limited lookup is counted on every hit, from memory too; one that a key lifted is not kept there.
      hot: !limited ? ANYONE : presentedCredential(request) ? undefined : WITHIN_IP_LIMIT,
      coverId: cover.id,
    });
  }

  /** The cover an upload form (either form: upload2 or the legacy upload) describes, its image under `data` or `file`. */
  function addCoverFromForm(form: FormData, category: Category, olid: string | undefined): Promise<Cover> {
    return ingest.addCover({
      category,
      olid,
      bytes: form.files.find((file) => IMAGE_FIELDS.includes(file.field))?.bytes,
      sourceUrl: first(form, 'source_url'),
      author: first(form, 'author'),
      identifiers: identifiersFromForm(form),
      title: titleFromForm(form),
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
      // As lenient as the original: what is not a whole number takes the default, a limit over 100 is 100. Deep
      // offsets are refused rather than scanned.
      const offset = Math.max(0, wholeNumber(query.offset) ?? 0);
      const limit = Math.min(100, Math.max(0, wholeNumber(query.limit) ?? 10));
      if (offset > 1_000_000) throw new JacketError(400, 'invalid_offset', 'offset must be at most 1000000: page by olid instead.');
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
      const covers = limit === 0 ? [] : await catalogue.query({ category, olids: olids.length ? olids : undefined, offset, limit });
      let result: unknown;
      if (query.cmd === 'ids') {
        const byOlid: Record<string, number> = {};
        for (const cover of covers) if (cover.olid && byOlid[cover.olid] === undefined) byOlid[cover.olid] = cover.id;
        result = byOlid;
      } else if (query.details?.toLowerCase() === 'true') {
        result = covers.map((cover) => ({
          id: cover.id,
          olid: cover.olid,
          created: coverstoreTime(cover.createdAt),
          last_modified: coverstoreTime(cover.modifiedAt),
          source_url: cover.sourceUrl,
          width: cover.width,
          height: cover.height,
        }));
      } else {
        result = covers.map((cover) => cover.id);
      }
      return sendJson(reply, callback, result);
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
        // The original's sentence for a delete (its touch always redirects; Jacket says the same of a touch).
        return reply.type('text/plain; charset=utf-8').send(`cover has been ${action === 'delete' ? 'deleted' : 'touched'} successfully.`);
      });
    }
  }

  // The upload forms: a route group whose errors, even those raised before a handler runs, take the Open Library shape.
  await app.register(async (uploads) => {
    uploads.setErrorHandler(errorHandler(uploadErrorBody));
    for (const category of CATEGORIES) {
      uploads.post(`/${category}/upload2`, async (request, reply) => {
        await requireUploader(request);
        const form = await readForm(request, services.intake.maxImageBytes, IMAGE_FIELDS);
        const cover = await addCoverFromForm(form, category, first(form, 'olid'));
        return reply.send({ ok: 'true', id: cover.id, status: cover.status });
      });

      uploads.post(`/${category}/upload`, async (request, reply) => {
        let form: FormData | undefined;
        try {
          await requireUploader(request);
          form = await readForm(request, services.intake.maxImageBytes, IMAGE_FIELDS);
          const olid = first(form, 'olid');
          if (!olid) throw new JacketError(400, 'invalid_olid', 'The legacy upload form needs an olid.');
          const cover = await addCoverFromForm(form, category, olid);
          return reply.code(303).header('location', redirectLocation(first(form, 'success_url')) ?? `/${category}/id/${cover.id}.json`).send();
        } catch (error) {
          const failureUrl = form ? first(form, 'failure_url') : undefined;
          const mapped = error instanceof JacketError ? uploadErrorCode(error.code) : undefined;
          const location = error instanceof JacketError ? redirectLocation(failureUrl, { errcode: String(mapped?.code ?? 0), errmsg: error.message }) : undefined;
          if (location) return reply.code(303).header('location', location).send();
          throw error;
        }
      });
    }
  });

  function sendJson(reply: FastifyReply, callback: string | undefined, value: unknown) {
    if (callback) return reply.type('application/javascript; charset=utf-8').send(`${callback}(${JSON.stringify(value)});`);
    return reply.type('application/json; charset=utf-8').send(JSON.stringify(value));
  }

}
