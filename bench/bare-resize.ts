import sharp from 'sharp';
import { encoderSettings } from '../src/images/encoding.ts';

/**
 * The miss baselines' resize (bench/bare-sharp.ts, bench/bare-http.ts): bare sharp making the same L rendition as
 * Jacket (same target size, same resize and JPEG settings, taken from src/images/encoding.ts) of an original given as
 * bytes or a file path.
 */
export function bareResize(original: Buffer | string, width: number, height: number): Promise<Buffer> {
  const settings = encoderSettings({ width, height });
  let pipeline = sharp(original).autoOrient().resize(width, height, { fit: 'fill', fastShrinkOnLoad: settings.shrinkOnLoad });
  if (settings.sharpenSigma > 0) pipeline = pipeline.sharpen({ sigma: settings.sharpenSigma });
  return pipeline.jpeg(settings.jpeg).toBuffer();
}
