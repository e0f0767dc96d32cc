import sharp from 'sharp';
import { encoderSettings, type EncoderSettings } from './encoding.ts';
import type { Dimensions } from './sizes.ts';

export const RENDITION_FORMATS = {
  jpeg: { mime: 'image/jpeg', extension: 'jpg' },
  webp: { mime: 'image/webp', extension: 'webp' },
  avif: { mime: 'image/avif', extension: 'avif' },
} as const;
export type RenditionFormat = keyof typeof RENDITION_FORMATS;

export function renditionFormatForExtension(extension: string): RenditionFormat | undefined {
  const lower = extension.toLowerCase();
  if (lower === 'jpg' || lower === 'jpeg') return 'jpeg';
  if (lower === 'webp' || lower === 'avif') return lower;
  return undefined;
}

// libvips keeps its own operation cache; our renditions are cached as encoded bytes instead, so the libvips cache
// would only hold memory twice.
sharp.cache(false);

/**
 * Make a rendition: EXIF orientation applied first, exact target dimensions (computed by the size registry from the
 * upright image), metadata stripped (sharp's default), transparency flattened onto white for JPEG, encoded with the
 * settings of the target's size tier (src/images/encoding.ts; the quality bench passes others). `original` is the
 * image's bytes or the path of a file holding them.
 */
export async function renderRendition(
  original: Buffer | string,
  target: Dimensions,
  format: RenditionFormat,
  settings: EncoderSettings = encoderSettings(target),
): Promise<Buffer> {
  let pipeline = sharp(original, { failOn: 'none', limitInputPixels: false })
    .autoOrient()
    .resize(target.width, target.height, { fit: 'fill', fastShrinkOnLoad: settings.shrinkOnLoad });
  if (settings.sharpenSigma > 0) pipeline = pipeline.sharpen({ sigma: settings.sharpenSigma });
  switch (format) {
    case 'jpeg':
      pipeline = pipeline.flatten({ background: '#ffffff' }).jpeg(settings.jpeg);
      break;
    case 'webp':
      pipeline = pipeline.webp(settings.webp);
      break;
    case 'avif':
      pipeline = pipeline.avif(settings.avif);
      break;
  }
  return pipeline.toBuffer();
}
