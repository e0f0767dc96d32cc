import sharp from 'sharp';
import type { Rendering } from './geometry.ts';

/**
 * Make the bytes of one IIIF image request from the original, in one libvips pipeline: turned upright first (EXIF),
 * the region cut, resized to the exact size, mirrored, then turned (sharp keeps this order when the calls are made in
 * it), then the quality and the format. Metadata is stripped (sharp's default).
 */
export async function renderIiif(original: Buffer | string, rendering: Rendering): Promise<Buffer> {
  const { rect, size, request } = rendering;
  let pipeline = sharp(original, { failOn: 'none', limitInputPixels: false })
    .autoOrient()
    .extract({ left: rect.x, top: rect.y, width: rect.width, height: rect.height })
    .resize(size.width, size.height, { fit: 'fill' });
  if (request.rotation.mirror) pipeline = pipeline.flop();
  if (request.rotation.degrees !== 0) pipeline = pipeline.rotate(request.rotation.degrees);
  if (request.format === 'jpg' || request.quality === 'gray' || request.quality === 'bitonal') pipeline = pipeline.flatten({ background: '#ffffff' });
  // One channel out: a grey image is smaller so, and reads as grey to any decoder. Bitonal splits at mid-grey.
  if (request.quality === 'gray') pipeline = pipeline.greyscale().toColourspace('b-w');
  if (request.quality === 'bitonal') pipeline = pipeline.threshold(128).toColourspace('b-w');
  switch (request.format) {
    case 'jpg':
      return pipeline.jpeg({ quality: 82 }).toBuffer();
    case 'png':
      return pipeline.png({ compressionLevel: 6 }).toBuffer();
    case 'webp':
      return pipeline.webp({ quality: 80, effort: 2 }).toBuffer();
    case 'avif':
      return pipeline.avif({ quality: 55, effort: 0 }).toBuffer();
  }
}
