import type { Auth } from './auth.ts';
import type { ChangeBus } from './changes.ts';
import type { CatalogueDb } from './catalogue/db.ts';
import type { CoverCatalogue } from './catalogue/covers.ts';
import type { KeyService } from './catalogue/keys.ts';
import type { ReleaseCatalogue } from './catalogue/releases.ts';
import type { Config } from './config.ts';
import type { Delivery } from './delivery/answer.ts';
import type { Hooks } from './hooks.ts';
import type { HotResponses } from './http/hot-responses.ts';
import type { Ingest } from './ingest.ts';
import type { LimitStore } from './limits/limit-store.ts';
import type { Metrics } from './metrics.ts';
import type { CoverArtArchiveMirror } from './mirror/coverartarchive.ts';
import type { OpenLibraryMirror } from './mirror/openlibrary.ts';
import type { RenditionEngine } from './renditions/engine.ts';
import type { BlobStore } from './storage/blobstore.ts';

/** Everything the HTTP layer and the commands use, built once from the configuration. No globals elsewhere. */
export interface Services {
  config: Config;
  db: CatalogueDb;
  catalogue: CoverCatalogue;
  /** Cover Art Archive releases, release groups, merges and release images. */
  releases: ReleaseCatalogue;
  blobs: BlobStore;
  renditions: RenditionEngine;
  /** Image delivery for every dialect: identifier → image (delivery.resolve), then the answer (src/delivery/). */
  delivery: Delivery;
  auth: Auth;
  ingest: Ingest;
  hooks: Hooks;
  limits: LimitStore;
  changes: ChangeBus;
  /** Developer keys (issue 4). */
  keys: KeyService;
  /** Prometheus metrics of this instance (its own registry): upstream latency, limit refusals … (src/metrics.ts). */
  metrics: Metrics;
  /** Uploads wait as pending until approved (issue 8 sets it from JACKET_MODERATION). */
  moderation: boolean;
  mirror: { openLibrary?: OpenLibraryMirror; coverArtArchive?: CoverArtArchiveMirror };
  /** The hot-hit table in front of Fastify (set by buildApp; see http/hot-responses.ts). */
  hotResponses?: HotResponses;
  /** Set when the admin token was generated on this start; printed once by `serve`. */
  generatedAdminToken?: string;
  close(): Promise<void>;
}

export interface ServicesOptions {
  /** Generate (and hand back, to be printed) an admin token when none is configured or stored: `jacket serve` only. */
  generateAdminToken?: boolean;
}
