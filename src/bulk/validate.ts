/**
 * The import-time check of an original, cheaper than the upload inspection (no decode) but as strict about what
 * reaches libvips: the format must be recognised from its magic bytes (only JPEG, PNG, GIF, WebP and AVIF are ever
 * handed to the header parser), the dimensions come from the header and are checked against the pixel limit, and
 * the file must end the way its format ends (catches archives cut in the middle of an image). Renditions are made
 * later, on demand, by the same pipeline as for uploads.
 */
import sharp, { type Metadata } from 'sharp';
import type { IntakePolicy } from '../intake.ts';
import { describeOriginal, hasCompleteEnding, sniffFormat, type InspectedImage } from '../images/inspect.ts';
import { jpegHeader } from './jpeg-header.ts';
import type { StoredImage } from '../catalogue/covers.ts';
import { originalKey } from '../storage/blobstore.ts';

export class ImageProblem extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

export async function quickInspect(bytes: Buffer, limits: Pick<IntakePolicy, 'maxPixels' | 'maxImageBytes'>): Promise<InspectedImage> {
  if (bytes.length === 0) throw new ImageProblem('empty_image', 'the entry is empty');
  if (bytes.length > limits.maxImageBytes) throw new ImageProblem('too_large', `the image is ${bytes.length} bytes; the limit is ${limits.maxImageBytes}`);
  const format = sniffFormat(bytes);
  if (!format) throw new ImageProblem('unsupported_format', 'not a JPEG, PNG, GIF, WebP or AVIF image');
  if (!hasCompleteEnding(bytes, format)) throw new ImageProblem('corrupt_image', `the ${format.toUpperCase()} data is truncated`);
  let metadata: Pick<Metadata, 'width' | 'height' | 'orientation' | 'compression'> | undefined;
  // JPEG (nearly every Open Library cover) is read from its marker segments in JS; the other formats by libvips'
  // header parser, which only ever sees data of an accepted format.
  if (format === 'jpeg') metadata = jpegHeader(bytes);
  else {
    try {
      metadata = await sharp(bytes, { limitInputPixels: false }).metadata();
    } catch {
      metadata = undefined;
    }
  }
  if (!metadata) throw new ImageProblem('corrupt_image', `the ${format.toUpperCase()} header cannot be read`);
  if (format === 'avif' && metadata.compression !== 'av1') throw new ImageProblem('unsupported_format', 'HEIF images other than AVIF are not accepted');
  const { width, height } = metadata;
  if (!width || !height) throw new ImageProblem('corrupt_image', 'the image header has no dimensions');
  if (width * height > limits.maxPixels) {
    throw new ImageProblem('too_many_pixels', `${width}×${height} = ${width * height} pixels; the limit is ${limits.maxPixels}`);
  }
  return describeOriginal(bytes, format, width, height, metadata.orientation);
}

/** The stored original an imported image becomes: content-addressed under its SHA-256. */
export function storedOriginal(image: InspectedImage): StoredImage {
  return { blobKey: originalKey(image.sha256), sha256: image.sha256, mime: image.mime, width: image.width, height: image.height, byteSize: image.byteSize };
}
