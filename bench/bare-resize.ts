import sharp from 'sharp';

/**
 * The miss baselines' resize (bench/bare-sharp.ts, bench/bare-http.ts): bare sharp with default settings making the
 * same L rendition as Jacket (same target size, same JPEG quality) of an original given as bytes or a file path.
 */
export function bareResize(original: Buffer | string, width: number, height: number): Promise<Buffer> {
  return sharp(original).autoOrient().resize(width, height, { fit: 'fill' }).jpeg({ quality: 82 }).toBuffer();
}
