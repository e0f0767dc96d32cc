import zlib from 'node:zlib';
import sharp from 'sharp';

/** A solid-colour test image of the given stored size and format (optionally with an EXIF orientation tag). */
export async function makeImage(
  width: number,
  height: number,
  options: { format?: 'jpeg' | 'png' | 'gif' | 'webp' | 'avif'; orientation?: number; color?: string; alpha?: boolean } = {},
): Promise<Buffer> {
  let pipeline = sharp({
    create: { width, height, channels: options.alpha ? 4 : 3, background: options.color ?? '#3a6ea5' },
  });
  const format = options.format ?? 'jpeg';
  pipeline = format === 'jpeg' ? pipeline.jpeg() : format === 'png' ? pipeline.png() : format === 'gif' ? pipeline.gif() : format === 'webp' ? pipeline.webp() : pipeline.avif();
  let bytes = await pipeline.toBuffer();
  if (options.orientation) bytes = await sharp(bytes).withMetadata({ orientation: options.orientation }).toBuffer();
  return bytes;
}

export async function dimensionsOf(bytes: Buffer | ArrayBuffer): Promise<{ width: number; height: number; format: string }> {
  const metadata = await sharp(Buffer.from(bytes as ArrayBuffer)).metadata();
  return { width: metadata.width!, height: metadata.height!, format: metadata.format! };
}

/** Build a multipart body for fetch. */
export function form(fields: Record<string, string | string[] | { bytes: Buffer; filename?: string; type?: string }>): FormData {
  const body = new FormData();
  for (const [name, value] of Object.entries(fields)) {
    if (typeof value === 'string') body.append(name, value);
    else if (Array.isArray(value)) for (const item of value) body.append(name, item);
    else body.append(name, new Blob([new Uint8Array(value.bytes)], { type: value.type ?? 'application/octet-stream' }), value.filename ?? 'upload.bin');
  }
  return body;
}

/** A plain typographic cover (title and author on a colour), so screenshots look like a catalogue. */
export async function bookCoverArt(title: string, author: string, color: string): Promise<Buffer> {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="400" height="600">
    <rect width="400" height="600" fill="${color}"/><rect x="24" y="24" width="352" height="552" fill="none" stroke="#f4ecd8" stroke-width="3"/>
    <text x="200" y="250" font-family="DejaVu Serif" font-size="38" fill="#f4ecd8" text-anchor="middle">${title}</text>
    <text x="200" y="320" font-family="DejaVu Sans" font-size="20" fill="#f4ecd8" text-anchor="middle">${author}</text></svg>`;
  return sharp(Buffer.from(svg)).jpeg({ quality: 85 }).toBuffer();
}

/** One PNG chunk: length, type, data and the CRC over type and data. */
export function pngChunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(zlib.crc32(body));
  return Buffer.concat([length, body, crc]);
}
