import querystring from 'node:querystring';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../config.ts';
import { JacketError, outageError, payloadTooLarge } from '../errors.ts';

/** A transparent 1×1 GIF: what the Open Library and LibraryThing dialects answer when there is no cover. */
export const BLANK_GIF = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');

export const LONG_CACHE = 'public, max-age=31536000, immutable';
export const SHORT_CACHE = 'public, max-age=600';

export interface Validators {
  etag?: string;
  lastModified?: number;
}

/** The request headers a conditional GET is decided by (a request's `headers`, or the same two values from elsewhere). */
export interface ConditionalHeaders {
  'if-none-match'?: string | undefined;
  'if-modified-since'?: string | undefined;
}

/** True when the client's copy is current: If-None-Match wins over If-Modified-Since (RFC 9110). */
export function isNotModified(headers: ConditionalHeaders, validators: Validators): boolean {
  const ifNoneMatch = headers['if-none-match'];
  if (ifNoneMatch !== undefined) {
    if (!validators.etag) return false;
    // A tag without its quotes matches too: Open Library's coverstore strips them before comparing, and clients
    // written against it send `If-None-Match: 123-m`.
    return ifNoneMatch.split(',').some((tag) => {
      const t = tag.trim();
      return t === '*' || t === validators.etag || t === `W/${validators.etag}` || `"${t}"` === validators.etag;
    });
  }
  const ifModifiedSince = headers['if-modified-since'];
  if (ifModifiedSince && validators.lastModified !== undefined) {
    const since = Date.parse(ifModifiedSince);
    return !Number.isNaN(since) && Math.floor(validators.lastModified / 1000) <= Math.floor(since / 1000);
  }
  return false;
}

/** A query parameter's first value: repeated parameters (`?a=1&a=2`) arrive as arrays. */
export function queryParam(request: FastifyRequest, name: string): string | undefined {
  const value = (request.query as Record<string, unknown> | undefined)?.[name];
  const single = Array.isArray(value) ? value[0] : value;
  return typeof single === 'string' ? single : undefined;
}

export function setValidators(reply: FastifyReply, validators: Validators, cacheControl: string): void {
  if (validators.etag) reply.header('etag', validators.etag);
  if (validators.lastModified !== undefined) reply.header('last-modified', new Date(validators.lastModified).toUTCString());
  reply.header('cache-control', cacheControl);
}

/** Scheme and host for absolute URLs: the configured public URL, else the request (proxy headers when trusted). */
export function publicBase(request: FastifyRequest, config: Config): string {
  if (config.publicUrl) return config.publicUrl;
  return `${request.protocol}://${request.host}`;
}

export interface UploadedFile {
  field: string;
  filename: string;
  bytes: Buffer;
}

export interface FormData {
  fields: Map<string, string[]>;
  files: UploadedFile[];
}

export function first(form: FormData, name: string): string | undefined {
  const value = form.fields.get(name)?.[0];
  return value === undefined || value === '' ? undefined : value;
}

/** The longest text field a form may carry (an image travels as a file, or as a urlencoded byte field). */
const MAX_FIELD_BYTES = 64 * 1024;
const fieldTooLarge = () => new JacketError(413, 'too_many_parts', 'The form has too many parts or too large a field.');

/** The text of a urlencoded body, kept beside the fields parsed from it: some fields carry bytes, not text. */
const URLENCODED_TEXT = Symbol('urlencoded text');

/** The parser for urlencoded bodies: the fields as text, and the body itself for {@link readForm}'s byte fields. */
export function parseUrlencoded(text: string): querystring.ParsedUrlQuery {
  const fields = querystring.parse(text);
  Object.defineProperty(fields, URLENCODED_TEXT, { value: text });
  return fields;
}

/** The named fields of a urlencoded body as the bytes their percent-escapes spell (decoding them as UTF-8 would mangle an image). */
function urlencodedBytes(text: string, names: readonly string[]): Array<{ name: string; bytes: Buffer }> {
  const found: Array<{ name: string; bytes: Buffer }> = [];
  for (const pair of text.split('&')) {
    const eq = pair.indexOf('=');
    const name = querystring.unescape((eq === -1 ? pair : pair.slice(0, eq)).replaceAll('+', ' '));
    if (names.includes(name)) found.push({ name, bytes: percentDecodedBytes(eq === -1 ? '' : pair.slice(eq + 1)) });
  }
  return found;
}

/** `+` as a space and `%XX` as that byte, everything else as itself (a malformed escape stays as written, like querystring's). */
function percentDecodedBytes(text: string): Buffer {
  const input = Buffer.from(text, 'latin1');
  const output = Buffer.allocUnsafe(input.length);
  const hex = (code: number) => (code >= 48 && code <= 57 ? code - 48 : code >= 65 && code <= 70 ? code - 55 : code >= 97 && code <= 102 ? code - 87 : -1);
  let length = 0;
  for (let i = 0; i < input.length; i++) {
    const byte = input[i]!;
    const high = byte === 37 && i + 2 < input.length ? hex(input[i + 1]!) : -1;
    const low = high === -1 ? -1 : hex(input[i + 2]!);
    if (low !== -1) {
      output[length++] = high * 16 + low;
      i += 2;
    } else output[length++] = byte === 43 ? 32 : byte;
  }
  return output.subarray(0, length);
}

/**
 * Read a form body of any of the three kinds browsers and scripts send: multipart (files streamed with a byte cap,
 * never buffered past the limit), urlencoded or JSON. `byteFields` are fields of a urlencoded body that carry a file
 * (Open Library's own upload2 client sends the image as `data=`): they arrive as files, within the same cap.
 */
export async function readForm(request: FastifyRequest, maxFileBytes: number, byteFields: readonly string[] = []): Promise<FormData> {
  const form: FormData = { fields: new Map(), files: [] };
  const add = (name: string, value: string) => form.fields.set(name, [...(form.fields.get(name) ?? []), value]);
  if (request.isMultipart()) {
    try {
      for await (const part of request.parts({ limits: { fileSize: maxFileBytes, files: 4, fields: 100, fieldSize: MAX_FIELD_BYTES, parts: 110 } })) {
        if (part.type === 'file') {
          if (maxFileBytes === 0) throw new JacketError(400, 'unexpected_file', `This form takes no files (got one in "${part.fieldname.slice(0, 40)}").`);
          const bytes = await part.toBuffer();
          if (part.file.truncated) throw payloadTooLarge(`The file is larger than the limit of ${maxFileBytes} bytes.`);
          form.files.push({ field: part.fieldname, filename: part.filename, bytes });
        } else {
          add(part.fieldname, String(part.value ?? ''));
        }
      }
    } catch (error) {
      if (error instanceof JacketError) throw error;
      const code = (error as { code?: string }).code ?? '';
      if (code === 'FST_REQ_FILE_TOO_LARGE') throw payloadTooLarge(`The file is larger than the limit of ${maxFileBytes} bytes.`);
      if (/LIMIT/.test(code)) throw fieldTooLarge();
      throw new JacketError(400, 'malformed_multipart', `The multipart body cannot be read: ${(error as Error).message}`);
    }
    return form;
  }
  const body = request.body;
  const urlencoded = body && typeof body === 'object' ? (body as { [URLENCODED_TEXT]?: string })[URLENCODED_TEXT] : undefined;
  if (urlencoded !== undefined && maxFileBytes > 0) {
    for (const { name, bytes } of urlencodedBytes(urlencoded, byteFields)) {
      if (bytes.length > maxFileBytes) throw payloadTooLarge(`The file is larger than the limit of ${maxFileBytes} bytes.`);
      form.files.push({ field: name, filename: '', bytes });
    }
  }
  if (body && typeof body === 'object') {
    for (const [name, value] of Object.entries(body as Record<string, unknown>)) {
      if (urlencoded !== undefined && maxFileBytes > 0 && byteFields.includes(name)) continue;
      // The body may be as large as an upload, but a text field keeps the multipart limit.
      if (Array.isArray(value) ? value.some((item) => String(item).length > MAX_FIELD_BYTES) : String(value).length > MAX_FIELD_BYTES) throw fieldTooLarge();
      for (const item of Array.isArray(value) ? value : [value]) {
        if (item !== undefined && item !== null) add(name, String(item));
      }
    }
  }
  return form;
}

/** Render any error as the native JSON shape: a machine code and a human sentence. */
export function errorBody(error: unknown): { status: number; headers: Record<string, string>; body: { error: string; message: string } } {
  const known = error instanceof JacketError ? error : outageError(error);
  if (known) return { status: known.status, headers: known.headers, body: { error: known.code, message: known.message } };
  const fastifyError = error as { statusCode?: number; code?: string; message?: string; validation?: unknown };
  const status = fastifyError.statusCode && fastifyError.statusCode >= 400 && fastifyError.statusCode < 600 ? fastifyError.statusCode : 500;
  if (status >= 500) return { status, headers: {}, body: { error: 'internal_error', message: 'Something went wrong on the server; it has been logged.' } };
  const code = fastifyError.validation
    ? 'invalid_request'
    : status === 413
      ? 'payload_too_large'
      : status === 415
        ? 'unsupported_media_type'
        : (fastifyError.code ?? 'bad_request').toLowerCase().replace(/^fst_(err_)?/, '');
  const message =
    status === 415
      ? `This body's Content-Type is not one this route reads: send multipart/form-data, application/x-www-form-urlencoded or application/json.`
      : (fastifyError.message ?? 'Bad request.');
  return { status, headers: {}, body: { error: code, message } };
}

/**
 * A route group's error handler: any error in the native shape, or in `shape` (a dialect's own error body) when it
 * is the client's; a server error is logged and never shaped, so it says nothing of what failed.
 */
export function errorHandler(shape: (body: { error: string; message: string }) => object = (body) => body) {
  return (error: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const rendered = errorBody(error);
    // 501 is a valid request for something not offered (a IIIF rotation by 45°): the client's to know, not a fault.
    if (rendered.status >= 500 && rendered.status !== 501) request.log.error({ err: error }, 'request failed');
    return reply.code(rendered.status).headers(rendered.headers).send(rendered.status < 500 ? shape(rendered.body) : rendered.body);
  };
}

/** The OpenAPI security of a route that takes `Authorization: Bearer` (admin token or developer key). */
export const security = [{ bearerAuth: [] }];

/** The OpenAPI schema of every error body: a machine code and a sentence. */
export const errorSchema = {
  type: 'object',
  properties: { error: { type: 'string' }, message: { type: 'string' } },
};
