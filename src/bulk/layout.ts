/**
 * Open Library's bulk layout: covers grouped by id, the id zero-padded to 10 digits and split 4 + 2 + 4. The first 4
 * digits name an item (1,000,000 covers), the next 2 a batch of 10,000 (cover 5320000 → `covers_0005_32`).
 */
import type { OpenLibrarySize } from '../images/sizes.ts';

/** `''` for originals, or one of the Open Library sizes. */
export type Series = '' | OpenLibrarySize;
export const SERIES: readonly Series[] = ['', 'S', 'M', 'L'];

/** Ids that fit the 10-digit names. */
export const MAX_ARCHIVE_ID = 9_999_999_999;

export function paddedId(id: number): string {
  return String(id).padStart(10, '0');
}

/** `covers_0005_32`, `s_covers_0005_32`, … for the archive that holds `id`. */
export function archiveName(id: number, series: Series): string {
  const padded = paddedId(id);
  return `${seriesPrefix(series)}covers_${padded.slice(0, 4)}_${padded.slice(4, 6)}`;
}

/** Path of the archive under the export folder: `covers_0005/covers_0005_32.tar`. */
export function archivePath(id: number, series: Series): string {
  const name = archiveName(id, series);
  return `${name.slice(0, name.lastIndexOf('_'))}/${name}.tar`;
}

export function seriesPrefix(series: Series): string {
  return series === '' ? '' : `${series.toLowerCase()}_`;
}

/** The 10,000-cover batch an id belongs to (equal for ids in the same archive). */
export function batchOf(id: number): number {
  return Math.floor(id / 10_000);
}

/** `0005320000.jpg`, `0005320000-S.jpg`. */
export function entryName(id: number, series: Series): string {
  return `${paddedId(id)}${series === '' ? '' : `-${series}`}.jpg`;
}

/**
 * An entry name back to its cover id and series: `%010d.jpg` or `%d-S.jpg` (any folder prefix, any accepted image
 * extension, since other tools may name PNG covers `.png`). Undefined when the name is not a cover id.
 */
export function parseEntryName(name: string): { id: number; series: Series } | undefined {
  const base = name.slice(name.lastIndexOf('/') + 1);
  const match = /^(\d{1,10})(?:-([SMLsml]))?\.(?:jpe?g|png|gif|webp|avif)$/i.exec(base);
  if (!match) return undefined;
  const id = Number(match[1]);
  if (id <= 0) return undefined;
  return { id, series: (match[2]?.toUpperCase() ?? '') as Series };
}

/** The series an archive file holds, from its name (`s_covers_0005_32.tar` → S); undefined for other files. */
export function seriesOfArchive(fileName: string): Series | undefined {
  const match = /^(?:([sml])_)?covers_\d+_\d+\.tar$/i.exec(fileName);
  if (match) return (match[1]?.toUpperCase() ?? '') as Series;
  return fileName.toLowerCase().endsWith('.tar') ? '' : undefined;
}

/** Import preference: originals first, then the largest size (a size series stands in for a missing original). */
export function seriesRank(series: Series): number {
  return { '': 0, L: 1, M: 2, S: 3 }[series];
}
