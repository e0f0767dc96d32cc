/**
 * JPEG dimensions and EXIF orientation read straight from the marker segments, without a decoder: the bulk import's
 * fast path for the format nearly every Open Library cover is in. Returns undefined when the header does not parse.
 */

/** Start-of-frame markers (baseline, extended, progressive, lossless, arithmetic variants); not DHT/JPG/DAC. */
function isStartOfFrame(marker: number): boolean {
  return marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
}

function exifOrientation(bytes: Buffer, start: number, end: number): number | undefined {
  // "Exif\0\0" then a TIFF header.
  if (end - start < 14 || bytes.toString('latin1', start, start + 6) !== 'Exif\0\0') return undefined;
  const tiff = start + 6;
  const order = bytes.toString('latin1', tiff, tiff + 2);
  const little = order === 'II';
  if (!little && order !== 'MM') return undefined;
  const u16 = (at: number) => (little ? bytes.readUInt16LE(at) : bytes.readUInt16BE(at));
  const u32 = (at: number) => (little ? bytes.readUInt32LE(at) : bytes.readUInt32BE(at));
  const ifd = tiff + u32(tiff + 4);
  if (ifd + 2 > end) return undefined;
  const count = u16(ifd);
  for (let i = 0; i < count; i++) {
    const entry = ifd + 2 + i * 12;
    if (entry + 12 > end) return undefined;
    if (u16(entry) === 0x0112) {
      const value = u16(entry + 8);
      return value >= 1 && value <= 8 ? value : undefined;
    }
  }
  return undefined;
}

export function jpegHeader(bytes: Buffer): { width: number; height: number; orientation: number } | undefined {
  let offset = 2;
  let orientation = 1;
  try {
    while (offset + 4 <= bytes.length) {
      if (bytes[offset] !== 0xff) return undefined;
      const marker = bytes[offset + 1]!;
      if (marker === 0xff) {
        offset++;
        continue;
      }
      // Markers without a length.
      if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
        offset += 2;
        continue;
      }
      if (marker === 0xd9 || marker === 0xda) return undefined; // end of image or scan before any frame header
      const length = bytes.readUInt16BE(offset + 2);
      if (length < 2 || offset + 2 + length > bytes.length) return undefined;
      const body = offset + 4;
      if (marker === 0xe1) orientation = exifOrientation(bytes, body, offset + 2 + length) ?? orientation;
      if (isStartOfFrame(marker)) {
        if (length < 7) return undefined;
        const height = bytes.readUInt16BE(body + 1);
        const width = bytes.readUInt16BE(body + 3);
        if (width === 0 || height === 0) return undefined;
        return { width, height, orientation };
      }
      offset += 2 + length;
    }
  } catch {
    return undefined;
  }
  return undefined;
}
