import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Services } from '../services.ts';
import { formatReleaseDate, parseReleaseDate, parseTypeNames, typeNames, type Release, type ReleaseDate, type ReleaseImage } from '../catalogue/releases.ts';
import { requirePermission } from '../auth.ts';
import { JacketError } from '../errors.ts';
import { parseMbid } from '../identifiers/index.ts';
import { extensionForMime } from '../images/inspect.ts';
import { errorSchema, first, publicBase, readForm, security } from './common.ts';

const mbidPattern = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$';
const TAGS = ['Cover Art Archive: write API'];

const releaseSchema = {
  type: 'object',
  properties: {
    mbid: { type: 'string' },
    releaseGroup: { type: ['string', 'null'] },
    date: { type: ['string', 'null'], description: 'YYYY, YYYY-MM or YYYY-MM-DD' },
  },
};

const imageSchema = {
  type: 'object',
  properties: {
    id: { type: 'integer', description: 'CAA image id: int((time() - 1327528905) * 100), unique' },
    release: { type: 'string' },
    position: { type: 'integer', description: '1-based ordering on the release' },
    types: { type: 'array', items: { type: 'string' } },
    comment: { type: 'string' },
    approved: { type: 'boolean' },
    status: {
      type: 'string',
      enum: ['approved', 'pending', 'rejected'],
      description: 'Moderation: with JACKET_MODERATION=true uploads are `pending` (listed with approved:false, served to nobody) until an administrator approves or rejects them',
    },
    edit: { type: 'integer', description: 'Edit-log id of the change that added the image' },
    mime: { type: 'string' },
    width: { type: 'integer' },
    height: { type: 'integer' },
    byteSize: { type: 'integer' },
    created: { type: 'string', format: 'date-time' },
    image: { type: 'string', description: 'Cover Art Archive URL of the image' },
  },
};

const mbidParams = { type: 'object', properties: { mbid: { type: 'string', description: 'MusicBrainz id (UUID)' } } };
const idParams = { type: 'object', properties: { id: { type: 'string', description: 'Image id' } } };

function mbidOf(raw: unknown, field: string): string {
  const mbid = typeof raw === 'string' ? parseMbid(raw) : undefined;
  if (!mbid) throw new JacketError(400, 'invalid_mbid', `${field} must be a MusicBrainz id (a UUID).`);
  return mbid;
}

function positionOf(raw: unknown): number | undefined {
  if (raw === undefined || raw === null || raw === '') return undefined;
  const value = typeof raw === 'number' ? raw : /^\d{1,9}$/.test(String(raw)) ? Number(raw) : NaN;
  if (!Number.isInteger(value) || value < 1) throw new JacketError(400, 'invalid_position', 'position must be a whole number ≥ 1.');
  return value;
}

export function releaseJson(release: Release) {
  return { mbid: release.mbid, releaseGroup: release.releaseGroup, date: formatReleaseDate(release.date) };
}

export function imageJson(base: string, image: ReleaseImage) {
  return {
    id: image.id,
    release: image.release,
    position: image.position,
    types: typeNames(image.types),
    comment: image.comment,
    approved: image.approved,
    status: image.status,
    edit: image.edit,
    mime: image.mime,
    width: image.width,
    height: image.height,
    byteSize: image.byteSize,
    created: new Date(image.createdAt).toISOString(),
    image: `${base}/release/${image.release}/${image.id}.${extensionForMime(image.mime)}`,
  };
}

/** The native JSON write API for release art (admin token or an upload key). */
export async function releasesApiRoutes(app: FastifyInstance, services: Services): Promise<void> {
  const { releases, auth, ingest, config } = services;
  const base = (request: FastifyRequest) => publicBase(request, config);
  // Every route here writes: the group asks for an upload key (or the admin token) once, before any body is read.
  requirePermission(app, auth, 'upload');

  app.put<{ Params: { mbid: string }; Body: { releaseGroup?: string | null; date?: string | null } }>(
    '/api/v1/releases/:mbid',
    {
      schema: {
        tags: TAGS,
        summary: 'Create or update a release',
        description: 'Sets the release group and the release date (year, month or day precision). 201 when the release is new, 200 otherwise.',
        security,
        params: mbidParams,
        body: {
          type: 'object',
          properties: {
            releaseGroup: { type: ['string', 'null'], description: 'Release-group MBID' },
            date: { type: ['string', 'null'], description: 'YYYY, YYYY-MM or YYYY-MM-DD' },
          },
        },
        response: { 200: releaseSchema, 201: releaseSchema, 400: errorSchema, 401: errorSchema, 409: errorSchema },
      },
    },
    async (request, reply) => {
      const mbid = mbidOf(request.params.mbid, 'The release MBID');
      const body = request.body ?? {};
      const releaseGroup = body.releaseGroup === undefined || body.releaseGroup === null ? body.releaseGroup : mbidOf(body.releaseGroup, 'releaseGroup');
      let date: ReleaseDate | null | undefined = body.date === null ? null : undefined;
      if (typeof body.date === 'string') {
        date = parseReleaseDate(body.date);
        if (!date) throw new JacketError(400, 'invalid_date', 'date must be YYYY, YYYY-MM or YYYY-MM-DD (a real calendar date).');
      }
      const { release, created } = await releases.putRelease(mbid, { releaseGroup, date });
      return reply.code(created ? 201 : 200).send(releaseJson(release));
    },
  );

  app.post<{ Params: { mbid: string } }>(
    '/api/v1/releases/:mbid/images',
    {
      schema: {
        tags: TAGS,
        summary: 'Add an image to a release',
        description:
          'multipart/form-data with `file` (JPEG, PNG, GIF, WebP or AVIF), `types` (comma-separated names, e.g. `Front,Booklet`), `comment`, and optional `position` (1-based; default: last). A release that does not exist yet is created. Answers 201. With JACKET_MODERATION=true the image is `pending`: listed in index.json with approved:false but served to nobody until an administrator approves it (`GET /api/v1/images/{id}/status` tells the uploader).',
        consumes: ['multipart/form-data'],
        security,
        params: mbidParams,
        response: { 201: imageSchema, 400: errorSchema, 401: errorSchema, 409: errorSchema, 413: errorSchema },
      },
    },
    async (request, reply) => {
      const mbid = mbidOf(request.params.mbid, 'The release MBID');
      const form = await readForm(request, services.intake.maxImageBytes);
      const file = form.files.find((item) => item.field === 'file') ?? form.files[0];
      if (!file || file.bytes.length === 0) throw new JacketError(400, 'no_image', 'No image was sent: give the file in the `file` field.');
      const types = parseTypeNames((form.fields.get('types') ?? []).flatMap((value) => value.split(',')));
      const position = positionOf(first(form, 'position'));
      const original = await ingest.storeOriginal(file.bytes);
      const image = await releases.addImage(mbid, {
        // The stored original's key, hash, type and upright size.
        ...original,
        types,
        comment: form.fields.get('comment')?.[0] ?? '',
        position,
        approved: !services.moderation,
        status: services.moderation ? 'pending' : 'approved',
      });
      return reply.code(201).send(imageJson(base(request), image));
    },
  );

  app.patch<{ Params: { id: string }; Body: { types?: string[]; comment?: string; position?: number } }>(
    '/api/v1/images/:id',
    {
      schema: {
        tags: TAGS,
        summary: 'Change an image’s types, comment or position',
        security,
        params: idParams,
        body: {
          type: 'object',
          properties: {
            types: { type: 'array', items: { type: 'string' }, description: 'Type names, e.g. ["Front", "Raw/Unedited"]' },
            comment: { type: 'string' },
            position: { type: 'integer', minimum: 1 },
          },
        },
        response: { 200: imageSchema, 400: errorSchema, 401: errorSchema, 404: errorSchema },
      },
    },
    async (request, reply) => {
      const id = /^\d{1,15}$/.test(request.params.id) ? Number(request.params.id) : undefined;
      if (id === undefined) throw new JacketError(400, 'invalid_id', 'The image id must be a whole number.');
      const body = request.body ?? {};
      const image = await releases.updateImage(id, {
        types: body.types === undefined ? undefined : parseTypeNames(body.types),
        comment: body.comment,
        position: positionOf(body.position),
      });
      return reply.send(imageJson(base(request), image));
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/api/v1/images/:id',
    { schema: { tags: TAGS, summary: 'Remove an image from its release', security, params: idParams, response: { 400: errorSchema, 401: errorSchema, 404: errorSchema } } },
    async (request, reply) => {
      const id = /^\d{1,15}$/.test(request.params.id) ? Number(request.params.id) : undefined;
      if (id === undefined) throw new JacketError(400, 'invalid_id', 'The image id must be a whole number.');
      await releases.deleteImage(id);
      return reply.code(204).send();
    },
  );

  app.put<{ Params: { mbid: string }; Body: { release: string | null } }>(
    '/api/v1/release-groups/:mbid/cover',
    {
      schema: {
        tags: TAGS,
        summary: 'Choose the release whose art represents the release group',
        description: '`{"release": mbid}`; `null` clears the choice (the automatic rules apply again). The release must belong to the group.',
        security,
        params: mbidParams,
        body: { type: 'object', required: ['release'], properties: { release: { type: ['string', 'null'] } } },
        response: {
          200: { type: 'object', properties: { releaseGroup: { type: 'string' }, release: { type: ['string', 'null'] } } },
          400: errorSchema,
          401: errorSchema,
          404: errorSchema,
          409: errorSchema,
        },
      },
    },
    async (request, reply) => {
      const group = mbidOf(request.params.mbid, 'The release-group MBID');
      const release = request.body.release === null ? null : mbidOf(request.body.release, 'release');
      await releases.chooseReleaseGroupCover(group, release);
      return reply.send({ releaseGroup: group, release });
    },
  );

  app.post<{ Params: { mbid: string }; Body: { into: string } }>(
    '/api/v1/releases/:mbid/merge',
    {
      schema: {
        tags: TAGS,
        summary: 'Merge a release into another',
        description: 'Images move to the end of the target’s list with their ids; the old MBID keeps answering for the target.',
        security,
        params: mbidParams,
        body: { type: 'object', required: ['into'], properties: { into: { type: 'string', pattern: mbidPattern } } },
        response: {
          200: { type: 'object', properties: { release: { type: 'string' }, into: { type: 'string' }, moved: { type: 'integer' } } },
          400: errorSchema,
          401: errorSchema,
          404: errorSchema,
          409: errorSchema,
        },
      },
    },
    async (request, reply) => {
      const mbid = mbidOf(request.params.mbid, 'The release MBID');
      const into = mbidOf(request.body.into, 'into');
      const result = await releases.mergeRelease(mbid, into);
      return reply.send({ release: mbid, into: result.into, moved: result.moved });
    },
  );
}
