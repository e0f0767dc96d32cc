import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Category, Cover } from './catalogue/covers.ts';
import type { LimitRefusal } from './limits/public.ts';

/** Hooks that later layers (limits, metrics) attach to without the dialects knowing them. */
export interface Hooks {
  /** Runs before an Open Library lookup by an identifier other than `id`/`olid` (rate limits). May throw. */
  openLibraryLookup?: (request: FastifyRequest, reply: FastifyReply) => Promise<void>;
  /** The same limit counted at once for a client address, for a hit answered from memory: the refusal, or undefined. */
  openLibraryLookupNow?: (address: string) => LimitRefusal | undefined;
  /** Runs before every Cover Art Archive API route (`/release…`, `/release-group…`): its rate limit. May throw. */
  coverArtArchiveRequest?: (request: FastifyRequest, reply: FastifyReply) => Promise<void>;
  /** Runs before a IIIF image that must be rendered (a size not listed in info.json, not in memory): its rate limit. May throw. */
  iiifRender?: (request: FastifyRequest, reply: FastifyReply) => Promise<void>;
  /** Mirror mode: asked when an Open Library lookup finds nothing locally; may fetch and store the cover. */
  openLibraryMiss?: (category: Category, key: string, value: string) => Promise<Cover | undefined>;
  /** Mirror mode: asked when a release or release group has no art here; true when it filled some. */
  coverArtArchiveMiss?: (entity: 'release' | 'release-group', mbid: string) => Promise<boolean>;
}
