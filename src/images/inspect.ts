import { createHash } from 'node:crypto';
import sharp, { type Metadata } from 'sharp';
import { JacketError } from '../errors.ts';

/** Formats accepted as originals, with their true MIME type and file extension. */
export const ACCEPTED_FORMATS = {
  jpeg: { mime: 'image/jpeg', extension: 'jpg' },
  png: { mime: 'image/png', extension: 'png' },
  gif: { mime: 'image/gif', extension: 'gif' },
  webp: { mime: 'image/webp', extension: 'webp' },
  avif: { mime: 'image/avif', extension: 'avif' },
} as const;
export type ImageFormat = keyof typeof ACCEPTED_FORMATS;

export function extensionForMime(mime: string): string {
  for (const format of Object.values(ACCEPTED_FORMATS)) if (format.mime === mime) return format.extension;
  return 'bin';
}

export interface InspectedImage {
  format: ImageFormat;
  mime: string;
  /** Dimensions of the upright image (EXIF orientation applied). */
  width: number;
  height: number;
  byteSize: number;
  sha256: string;
}

export interface InspectLimits {
  maxPixels: number;
}

const invalid = (code: string, message: string) => new JacketError(400, code, message);

/**
 * Recognise the format from the first bytes, before any decoder sees the data: only the five formats we accept are
 * ever handed to libvips (never SVG, PDF or anything else it could parse).
 */
export function sniffFormat(bytes: Buffer): ImageFormat | undefined {
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  if (bytes.length >= 8 && bytes.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return 'png';
  if (bytes.length >= 6 && /^GIF8[79]a$/.test(bytes.subarray(0, 6).toString('latin1'))) return 'gif';
  if (bytes.length >= 12 && bytes.subarray(0, 4).toString('latin1') === 'RIFF' && bytes.subarray(8, 12).toString('latin1') === 'WEBP') return 'webp';
  if (bytes.length >= 12 && bytes.subarray(4, 8).toString('latin1') === 'ftyp' && /^avi[fs]$/.test(bytes.subarray(8, 12).toString('latin1'))) return 'avif';
  return undefined;
}

function lastIndexOfBytes(bytes: Buffer, needle: number[], window: number): boolean {
  const from = Math.max(0, bytes.length - window);
  return bytes.subarray(from).includes(Buffer.from(needle));
}

/** Does the file end as a complete file of its format would? */
export function hasCompleteEnding(bytes: Buffer, format: ImageFormat): boolean {
  switch (format) {
    case 'jpeg':
      // EOI marker; some encoders pad after it, so look at the tail rather than the last two bytes only.
      return lastIndexOfBytes(bytes, [0xff, 0xd9], 1024);
    case 'png':
      return lastIndexOfBytes(bytes, [0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82], 64);
    case 'gif':
      return lastIndexOfBytes(bytes, [0x3b], 16);
    case 'webp':
      return bytes.length >= 12 && bytes.readUInt32LE(4) + 8 <= bytes.length;
    case 'avif': {
      // ISO BMFF: the top-level boxes must add up to the file (a cut file ends inside a box).
      let offset = 0;
      while (offset + 8 <= bytes.length) {
        let size = bytes.readUInt32BE(offset);
        if (size === 1) {
          if (offset + 16 > bytes.length) return false;
          size = Number(bytes.readBigUInt64BE(offset + 8));
        } else if (size === 0) {
          size = bytes.length - offset;
        }
        if (size < 8) return false;
        offset += size;
      }
      return offset === bytes.length;
    }
  }
}

/**
 * Validate an uploaded original: accepted format by magic bytes, dimensions from the header checked against the
 * pixel limit before any decoding, the file's ending checked, then one full decode at a small size that fails on truncated or corrupt data.
 */
export async function inspectImage(bytes: Buffer, limits: InspectLimits): Promise<InspectedImage> {
  if (bytes.length === 0) throw invalid('empty_image', 'The upload is empty: no image bytes were sent.');
  const format = sniffFormat(bytes);
  if (!format) {
    throw invalid('unsupported_format', 'This is not an image in an accepted format (JPEG, PNG, GIF, WebP or AVIF).');
  }
  // The decoders forgive a missing trailer (a PNG cut inside IEND decodes whole); an import refuses it, so an upload must too.
  if (!hasCompleteEnding(bytes, format)) throw invalid('corrupt_image', `The ${format.toUpperCase()} file does not end the way its format ends: it is truncated.`);
  let metadata: Metadata;
  try {
    metadata = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch {
    throw invalid('corrupt_image', `The ${format.toUpperCase()} header cannot be read: the file is damaged.`);
  }
  if (format === 'avif' && metadata.compression !== 'av1') {
    throw invalid('unsupported_format', 'HEIF images other than AVIF are not accepted.');
  }
  const { width, height } = metadata;
  if (!width || !height) throw invalid('corrupt_image', 'The image header has no dimensions.');
  if (width * height > limits.maxPixels) {
    throw new JacketError(
      400,
      'too_many_pixels',
      `The image is ${width}×${height} = ${width * height} pixels; the limit is ${limits.maxPixels}.`,
    );
  }
  try {
    await sharp(bytes, { failOn: 'truncated', limitInputPixels: limits.maxPixels })
      .resize(16, 16, { fit: 'inside' })
      .raw()
      .toBuffer();
  } catch {
    throw invalid('corrupt_image', `The ${format.toUpperCase()} data is truncated or corrupt and cannot be decoded.`);
  }
  return describeOriginal(bytes, format, width, height, metadata.orientation);
}

/** What the catalogue records of an accepted original: true type, upright size (EXIF orientation 5–8 swaps), hash. */
export function describeOriginal(bytes: Buffer, format: ImageFormat, width: number, height: number, orientation: number | undefined): InspectedImage {
  const swap = (orientation ?? 1) >= 5;
  return {
    format,
    mime: ACCEPTED_FORMATS[format].mime,
    width: swap ? height : width,
    height: swap ? width : height,
    byteSize: bytes.length,
    sha256: createHash('sha256').update(bytes).digest('hex'),
  };
}
