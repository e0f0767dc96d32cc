import type { Services } from '../services.ts';
import { CoverArtArchiveMirror } from './coverartarchive.ts';
import { OpenLibraryMirror } from './openlibrary.ts';
import { Upstream } from './upstream.ts';

/** Mirror mode is on for each dialect whose upstream is configured; each upstream has its own politeness gate. */
export function setUpMirrors(services: Services): void {
  const { config } = services;
  const upstreamAt = (base: string) =>
    new Upstream({ base, rate: config.upstreamRate, timeoutMs: config.upstreamTimeoutMs, maxBytes: config.maxUploadBytes });
  if (config.upstreamOpenLibrary) {
    const mirror = new OpenLibraryMirror(services, upstreamAt(config.upstreamOpenLibrary), config.upstreamNegativeTtlMs);
    services.mirror.openLibrary = mirror;
    services.hooks.openLibraryMiss = (category, key, value) => mirror.fill(category, key, value);
  }
  if (config.upstreamCoverArtArchive) {
    const mirror = new CoverArtArchiveMirror(services, upstreamAt(config.upstreamCoverArtArchive), config.upstreamNegativeTtlMs);
    services.mirror.coverArtArchive = mirror;
    services.hooks.coverArtArchiveMiss = (entity, mbid) => mirror.fill(entity, mbid);
  }
}
