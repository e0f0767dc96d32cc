import type { Services } from '../app.ts';
import { CoverArtArchiveMirror } from './coverartarchive.ts';
import { OpenLibraryMirror } from './openlibrary.ts';
import { Upstream } from './upstream.ts';

/** Mirror mode is on for each dialect whose upstream is configured. */
export function setUpMirrors(services: Services): void {
  const { config } = services;
  if (config.upstreamOpenLibrary) {
    const upstream = new Upstream({
      base: config.upstreamOpenLibrary,
      rate: config.upstreamRate,
      timeoutMs: config.upstreamTimeoutMs,
      maxBytes: config.maxUploadBytes,
    });
    const mirror = new OpenLibraryMirror(services, upstream, config.upstreamNegativeTtlMs);
    services.mirror.openLibrary = mirror;
    services.hooks.openLibraryMiss = (category, key, value) => mirror.fill(category, key, value);
  }
  if (config.upstreamCoverArtArchive) {
    const upstream = new Upstream({
      base: config.upstreamCoverArtArchive,
      rate: config.upstreamRate,
      timeoutMs: config.upstreamTimeoutMs,
      maxBytes: config.maxUploadBytes,
    });
    const mirror = new CoverArtArchiveMirror(services, upstream, config.upstreamNegativeTtlMs);
    services.mirror.coverArtArchive = mirror;
    services.hooks.coverArtArchiveMiss = (entity, mbid) => mirror.fill(entity, mbid);
  }
}

