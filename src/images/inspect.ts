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

/**
 * Validate an uploaded original: accepted format by magic bytes, dimensions from the header checked against the
 * pixel limit before any decoding, then one full decode at a small size that fails on truncated or corrupt data.
 */
export async function inspectImage(bytes: Buffer, limits: InspectLimits): Promise<InspectedImage> {
  if (bytes.length === 0) throw invalid('empty_image', 'The upload is empty: no image bytes were sent.');
  const format = sniffFormat(bytes);
  if (!format) {
    throw invalid('unsupported_format', 'This is not an image in an accepted format (JPEG, PNG, GIF, WebP or AVIF).');
  }
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
