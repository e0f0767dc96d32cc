// A corpus of real-world and hostile images, made on the spot: sharp for the ordinary encodings, ImageMagick (Debian
// `imagemagick`) for the YCCK and arithmetic-coded JPEGs sharp cannot write, and byte surgery for ICC tags, declared
// dimensions, truncations and bit flips. Nothing comes from outside the test.
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import sharp, { type CreateRaw, type Sharp } from 'sharp';
import { pngChunk } from './images.ts';
import { seededRandom } from './random.ts';

const run = promisify(execFile);

/** The real ImageMagick (Debian's alternatives link), never a wrapper earlier on PATH. */
export const IMAGEMAGICK = '/usr/bin/convert';

export type Rgb = readonly [number, number, number];

/** What Jacket must do with a file, as the README says. */
export type Expectation =
  | { accepted: true; checks: RenditionCheck[] }
  | { accepted: false; error: string }
  /** Damage whose outcome depends on where it fell: either answer is fine, a 5xx never is. */
  | { accepted: 'either' };

/** A point of the upright rendition, as fractions of its width and height, and the sRGB colour expected there. */
export interface RenditionCheck {
  at: readonly [number, number];
  colour: Rgb;
  /** Largest difference per channel, in 8-bit levels. */
  tolerance: number;
  why: string;
}

export interface CorpusFile {
  name: string;
  bytes: Buffer;
  expect: Expectation;
  /** The upright image is wider than high (renditions keep that). */
  landscape?: boolean;
}

const WIDTH = 120;
const HEIGHT = 80;
const WHITE: Rgb = [255, 255, 255];

const solid = (colour: Rgb, width = WIDTH, height = HEIGHT) =>
  sharp({ create: { width, height, channels: 3, background: { r: colour[0], g: colour[1], b: colour[2] } } });

/** A colour in the middle of the rendition. */
const centre = (colour: Rgb, tolerance: number, why: string): RenditionCheck => ({ at: [0.5, 0.5], colour, tolerance, why });

/** Left half `colour`, right half fully transparent. */
async function halfTransparent(colour: Rgb): Promise<Sharp> {
  const left = await sharp({ create: { width: WIDTH / 2, height: HEIGHT, channels: 4, background: { r: colour[0], g: colour[1], b: colour[2], alpha: 1 } } })
    .png()
    .toBuffer();
  const canvas = await sharp({ create: { width: WIDTH, height: HEIGHT, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } } })
    .composite([{ input: left, left: 0, top: 0 }])
    .png()
    .toBuffer();
  return sharp(canvas);
}

const transparencyChecks = (colour: Rgb, tolerance: number): RenditionCheck[] => [
  { at: [0.2, 0.5], colour, tolerance, why: 'the opaque half keeps its colour' },
  { at: [0.8, 0.5], colour: WHITE, tolerance: 3, why: 'the transparent half is white in JPEG' },
];

// ---- ICC profiles -------------------------------------------------------------------------------------------------

/** A profile libvips carries built in ('srgb', 'p3', 'cmyk'), taken from an image it tagged. */
async function builtInProfile(name: 'srgb' | 'p3' | 'cmyk'): Promise<Buffer> {
  const tagged = await solid([128, 128, 128], 8, 8).withIccProfile(name).jpeg().toBuffer();
  return (await sharp(tagged).metadata()).icc!;
}

const s15Fixed16 = (value: number) => {
  const bytes = Buffer.alloc(4);
  bytes.writeInt32BE(Math.round(value * 65536));
  return bytes;
};
const xyzTag = (xyz: readonly number[]) => Buffer.concat([Buffer.from('XYZ \0\0\0\0', 'latin1'), ...xyz.map(s15Fixed16)]);

/**
 * An ICC v2 matrix/TRC display profile written byte by byte: Adobe RGB (1998), whose primaries (adapted to the D50
 * connection space) and 563/256 gamma are published in its specification. No Adobe RGB profile ships with libvips.
 */
export function adobeRgbProfile(): Buffer {
  const description = 'Adobe RGB (1998) compatible';
  const desc = Buffer.alloc(12 + description.length + 1 + 4 + 4 + 2 + 1 + 67);
  desc.write('desc', 0, 'latin1');
  desc.writeUInt32BE(description.length + 1, 8);
  desc.write(description, 12, 'latin1');
  const curve = Buffer.from([...Buffer.from('curv', 'latin1'), 0, 0, 0, 0, 0, 0, 0, 1, 0x02, 0x33, 0, 0]);
  const tags: [string, Buffer][] = [
    ['desc', desc],
    ['cprt', Buffer.from('text\0\0\0\0No copyright, made by a test\0', 'latin1')],
    ['wtpt', xyzTag([0.9642, 1.0, 0.8249])],
    ['rXYZ', xyzTag([0.60974, 0.31111, 0.01947])],
    ['gXYZ', xyzTag([0.20528, 0.62567, 0.06087])],
    ['bXYZ', xyzTag([0.14919, 0.06322, 0.74457])],
    ['rTRC', curve],
    ['gTRC', curve],
    ['bTRC', curve],
  ];
  const table = Buffer.alloc(4 + tags.length * 12);
  table.writeUInt32BE(tags.length, 0);
  const bodies: Buffer[] = [];
  let offset = 128 + table.length;
  tags.forEach(([signature, body], index) => {
    const padded = Buffer.concat([body, Buffer.alloc((4 - (body.length % 4)) % 4)]);
    table.write(signature, 4 + index * 12, 'latin1');
    table.writeUInt32BE(offset, 8 + index * 12);
    table.writeUInt32BE(body.length, 12 + index * 12);
    bodies.push(padded);
    offset += padded.length;
  });
  const header = Buffer.alloc(128);
  header.writeUInt32BE(offset, 0);
  header.writeUInt32BE(0x02100000, 8);
  header.write('mntrRGB XYZ ', 12, 'latin1');
  header.write('acsp', 36, 'latin1');
  [0.9642, 1.0, 0.8249].forEach((value, index) => s15Fixed16(value).copy(header, 68 + index * 4));
  return Buffer.concat([header, table, ...bodies]);
}

/** A JPEG with `profile` in an APP2 ICC_PROFILE segment right after SOI (one segment: the profile is under 64 KB). */
function tagJpeg(jpeg: Buffer, profile: Buffer): Buffer {
  const segment = Buffer.alloc(4 + 14);
  segment.writeUInt16BE(0xffe2, 0);
  segment.writeUInt16BE(2 + 14 + profile.length, 2);
  segment.write('ICC_PROFILE\0', 4, 'latin1');
  segment.writeUInt8(1, 16);
  segment.writeUInt8(1, 17);
  return Buffer.concat([jpeg.subarray(0, 2), segment, profile, jpeg.subarray(2)]);
}

/** A PNG with `profile` in an iCCP chunk after IHDR (signature 8 bytes + IHDR chunk 25 bytes). */
function tagPng(png: Buffer, profile: Buffer): Buffer {
  const iccp = pngChunk('iCCP', Buffer.concat([Buffer.from('icc\0\0', 'latin1'), zlib.deflateSync(profile)]));
  return Buffer.concat([png.subarray(0, 33), iccp, png.subarray(33)]);
}

/** The reference conversion of a (solid-colour) file to sRGB: ImageMagick through Little CMS, from its own profile. */
async function referenceSrgb(bytes: Buffer, work: string, srgb: string): Promise<Rgb> {
  const input = path.join(work, `reference-${Math.random().toString(36).slice(2)}`);
  await fs.writeFile(input, bytes);
  const { stdout } = await run(IMAGEMAGICK, [`${input}[0]`, '-intent', 'relative', '-black-point-compensation', '-profile', srgb, '-depth', '8', '-format', '%[fx:int(255*p{10,10}.r+.5)],%[fx:int(255*p{10,10}.g+.5)],%[fx:int(255*p{10,10}.b+.5)]', 'info:']);
  const [r, g, b] = stdout.trim().split(',').map(Number);
  return [r!, g!, b!];
}

// ---- byte surgery on declared dimensions ---------------------------------------------------------------------------

/** Offsets of the JPEG markers before the first scan. */
function jpegSegment(jpeg: Buffer, markers: number[]): number {
  let at = 2;
  while (at < jpeg.length) {
    const marker = jpeg[at + 1]!;
    if (markers.includes(marker)) return at;
    at += 2 + jpeg.readUInt16BE(at + 2);
  }
  throw new Error('marker not found');
}

function hugeJpeg(jpeg: Buffer): Buffer {
  const copy = Buffer.from(jpeg);
  const sof = jpegSegment(copy, [0xc0, 0xc1, 0xc2]);
  copy.writeUInt16BE(60000, sof + 5);
  copy.writeUInt16BE(60000, sof + 7);
  return copy;
}

function hugePng(png: Buffer): Buffer {
  const copy = Buffer.from(png);
  copy.writeUInt32BE(100000, 16);
  copy.writeUInt32BE(100000, 20);
  copy.writeUInt32BE(zlib.crc32(copy.subarray(12, 29)), 29);
  return copy;
}

/** The logical screen and the first image descriptor, both at 65535×65535. */
function hugeGif(gif: Buffer): Buffer {
  const copy = Buffer.from(gif);
  copy.writeUInt16LE(65535, 6);
  copy.writeUInt16LE(65535, 8);
  const flags = copy[10]!;
  let at = 13 + (flags & 0x80 ? 3 * 2 ** ((flags & 7) + 1) : 0);
  while (copy[at] === 0x21) {
    at += 2;
    while (copy[at] !== 0) at += copy[at]! + 1;
    at += 1;
  }
  if (copy[at] !== 0x2c) throw new Error('no image descriptor');
  copy.writeUInt16LE(65535, at + 5);
  copy.writeUInt16LE(65535, at + 7);
  return copy;
}

/** A lossy WebP (one `VP8 ` chunk) whose frame header says 16383×16383, the most 14 bits hold. */
function hugeWebp(webp: Buffer): Buffer {
  const copy = Buffer.from(webp);
  if (copy.subarray(12, 16).toString('latin1') !== 'VP8 ') throw new Error('not a simple lossy WebP');
  copy.writeUInt16LE(16383, 26);
  copy.writeUInt16LE(16383, 28);
  return copy;
}

/** Every `ispe` (image spatial extent) property of an AVIF says 100000×100000. */
function hugeAvif(avif: Buffer): Buffer {
  const copy = Buffer.from(avif);
  for (let at = copy.indexOf('ispe'); at !== -1; at = copy.indexOf('ispe', at + 4)) {
    copy.writeUInt32BE(100000, at + 8);
    copy.writeUInt32BE(100000, at + 12);
  }
  return copy;
}

// ---- the corpus -----------------------------------------------------------------------------------------------------

/** An image with detail (gaussian noise), so its compressed data is long enough to cut and damage. */
async function detailed(format: 'jpeg' | 'png' | 'gif' | 'webp' | 'avif'): Promise<Buffer> {
  const noise = await sharp({ create: { width: 160, height: 120, channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 128, sigma: 40 } } }).png().toBuffer();
  const image = sharp(noise);
  return (format === 'jpeg' ? image.jpeg() : format === 'png' ? image.png() : format === 'gif' ? image.gif() : format === 'webp' ? image.webp() : image.avif()).toBuffer();
}

/** Upright: a red top-left quadrant on blue, 120×80. Stored so that EXIF `orientation` turns it upright. */
async function oriented(orientation: number): Promise<Buffer> {
  const quadrant = await sharp({ create: { width: WIDTH / 2, height: HEIGHT / 2, channels: 3, background: '#ff0000' } }).png().toBuffer();
  const upright = await sharp({ create: { width: WIDTH, height: HEIGHT, channels: 3, background: '#0000ff' } })
    .composite([{ input: quadrant, left: 0, top: 0 }])
    .png()
    .toBuffer();
  // The inverse of what each orientation asks a viewer to do (EXIF 2.3, Orientation: where row 0 and column 0 are).
  const steps: Record<number, (image: Sharp) => Sharp>[] = [
    {
      1: (image) => image,
      2: (image) => image.flop(),
      3: (image) => image.rotate(180),
      4: (image) => image.flip(),
      5: (image) => image.rotate(90),
      6: (image) => image.rotate(270),
      7: (image) => image.rotate(90),
      8: (image) => image.rotate(90),
    },
    { 5: (image) => image.flop(), 7: (image) => image.flip() },
  ];
  let stored = upright;
  for (const step of steps) {
    const apply = step[orientation];
    if (apply) stored = await apply(sharp(stored)).png().toBuffer();
  }
  return sharp(stored).jpeg({ quality: 95 }).withMetadata({ orientation }).toBuffer();
}

const uprightChecks: RenditionCheck[] = [
  { at: [0.25, 0.25], colour: [255, 0, 0], tolerance: 40, why: 'the red quadrant is at the top left' },
  { at: [0.75, 0.25], colour: [0, 0, 255], tolerance: 40, why: 'blue at the top right' },
  { at: [0.25, 0.75], colour: [0, 0, 255], tolerance: 40, why: 'blue at the bottom left' },
];

/** An animation of `frames` frames, each `size`×`size`, the first one `first` and the others grey. */
async function animation(format: 'gif' | 'webp', frames: number, size: number, first: Rgb): Promise<Buffer> {
  const pixels = Buffer.alloc(size * size * frames * 3, 0x80);
  for (let index = 0; index < size * size; index++) pixels.set(first, index * 3);
  const image = sharp(pixels, { raw: { width: size, height: size * frames, channels: 3, pageHeight: size } as CreateRaw });
  return (format === 'gif' ? image.gif({ delay: Array(frames).fill(40) }) : image.webp({ delay: Array(frames).fill(40), effort: 0 })).toBuffer();
}

export interface Corpus {
  files: CorpusFile[];
  seed: number;
  close(): Promise<void>;
}

export async function makeCorpus(seed: number): Promise<Corpus> {
  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'jacket-corpus-'));
  const files: CorpusFile[] = [];
  const add = (name: string, bytes: Buffer, expect: Expectation, landscape = true) => files.push({ name, bytes, expect, landscape });
  const accepted = (...checks: RenditionCheck[]): Expectation => ({ accepted: true, checks });

  const srgbPath = path.join(work, 'srgb.icc');
  await fs.writeFile(srgbPath, await builtInProfile('srgb'));
  const cmykPath = path.join(work, 'cmyk.icc');
  await fs.writeFile(cmykPath, await builtInProfile('cmyk'));

  // Colour: every file is one solid colour, its expected sRGB value from ImageMagick's conversion of the same bytes.
  const managed = async (name: string, bytes: Buffer, tolerance: number) =>
    add(name, bytes, accepted(centre(await referenceSrgb(bytes, work, srgbPath), tolerance, 'colour-managed to sRGB like the reference conversion')));

  const saturated: Rgb = [40, 190, 70];
  const plainJpeg = await solid(saturated).jpeg({ quality: 95 }).toBuffer();
  await managed('Adobe RGB (1998) JPEG', tagJpeg(plainJpeg, adobeRgbProfile()), 4);
  const plainPng = await solid([230, 60, 40]).png().toBuffer();
  await managed('Display P3 PNG', tagPng(plainPng, await builtInProfile('p3')), 3);
  const warm = solid([180, 120, 80]);
  await managed('CMYK JPEG with its profile', await warm.clone().withIccProfile('cmyk').jpeg({ quality: 95 }).toBuffer(), 6);
  const srgbPng = path.join(work, 'warm.png');
  await warm.clone().png().toFile(srgbPng);
  const ycckPath = path.join(work, 'ycck.jpg');
  await run(IMAGEMAGICK, [srgbPng, '-profile', srgbPath, '-profile', cmykPath, '-define', 'jpeg:colorspace=5', '-quality', '95', ycckPath]);
  await managed('YCCK JPEG (Adobe transform 2) with a CMYK profile', await fs.readFile(ycckPath), 6);

  // Encodings of an ordinary sRGB colour.
  const teal: Rgb = [30, 140, 150];
  add('progressive JPEG', await solid(teal).jpeg({ quality: 95, progressive: true }).toBuffer(), accepted(centre(teal, 4, 'decoded whole')));
  const baselinePath = path.join(work, 'baseline.jpg');
  await solid(teal).jpeg({ quality: 95 }).toFile(baselinePath);
  const arithmeticPath = path.join(work, 'arithmetic.jpg');
  await run(IMAGEMAGICK, [baselinePath, '-define', 'jpeg:arithmetic-coding=true', arithmeticPath]);
  add('arithmetic-coded JPEG', await fs.readFile(arithmeticPath), accepted(centre(teal, 6, 'decoded whole')));

  // Transparency, flattened onto white in JPEG renditions.
  const plum: Rgb = [120, 40, 110];
  const transparent = await halfTransparent(plum);
  add('16-bit PNG with alpha', await transparent.clone().toColourspace('rgb16').png().toBuffer(), accepted(...transparencyChecks(plum, 3)));
  add('palette PNG with a transparent entry', await transparent.clone().png({ palette: true, dither: 0 }).toBuffer(), accepted(...transparencyChecks(plum, 6)));
  add('interlaced (Adam7) PNG with alpha', await transparent.clone().png({ progressive: true }).toBuffer(), accepted(...transparencyChecks(plum, 3)));
  add('GIF with a transparent colour', await transparent.clone().gif({ dither: 0 }).toBuffer(), accepted(...transparencyChecks(plum, 8)));
  add('WebP with alpha', await transparent.clone().webp({ lossless: true }).toBuffer(), accepted(...transparencyChecks(plum, 3)));
  add('AVIF with alpha', await transparent.clone().avif({ lossless: true }).toBuffer(), accepted(...transparencyChecks(plum, 8)));

  for (let orientation = 1; orientation <= 8; orientation++) add(`JPEG with EXIF orientation ${orientation}`, await oriented(orientation), accepted(...uprightChecks));

  // Animations: the first frame is the cover, however many follow.
  const gold: Rgb = [220, 170, 30];
  add('animated GIF (3 frames)', await animation('gif', 3, 64, gold), accepted(centre(gold, 8, 'the first frame')), false);
  add('animated WebP (3 frames)', await animation('webp', 3, 64, gold), accepted(centre(gold, 8, 'the first frame')), false);
  add('GIF of 3000 frames', await animation('gif', 3000, 16, gold), accepted(centre(gold, 8, 'the first frame')), false);
  add('WebP of 1000 frames', await animation('webp', 1000, 16, gold), accepted(centre(gold, 8, 'the first frame')), false);

  // Huge declared dimensions in each format: refused from the header, before anything decodes the pixels.
  const tooMany: Expectation = { accepted: false, error: 'too_many_pixels' };
  const small = solid(teal);
  add('JPEG declaring 60000×60000', hugeJpeg(await small.clone().jpeg().toBuffer()), tooMany);
  add('progressive JPEG declaring 60000×60000', hugeJpeg(await small.clone().jpeg({ progressive: true }).toBuffer()), tooMany);
  add('PNG declaring 100000×100000', hugePng(await small.clone().png().toBuffer()), tooMany);
  add('GIF declaring 65535×65535', hugeGif(await small.clone().gif().toBuffer()), tooMany);
  add('WebP declaring 16383×16383', hugeWebp(await small.clone().webp().toBuffer()), tooMany);
  add('AVIF declaring 100000×100000', hugeAvif(await small.clone().avif().toBuffer()), tooMany);

  // Truncations and bit flips of images with detail in every format.
  const next = seededRandom(seed);
  for (const format of ['jpeg', 'png', 'gif', 'webp', 'avif'] as const) {
    const whole = await detailed(format);
    for (const fraction of [0.1, 0.5, 0.9]) {
      add(`${format} cut at ${fraction * 100}%`, whole.subarray(0, Math.floor(whole.length * fraction)), { accepted: false, error: 'corrupt_image' });
    }
    add(`${format} without its last 2 bytes`, whole.subarray(0, whole.length - 2), { accepted: false, error: 'corrupt_image' });
    for (let variant = 0; variant < 6; variant++) {
      const damaged = Buffer.from(whole);
      const flips = 1 + Math.floor(next() * 16);
      // Past the signature, so the flips test the decoders rather than format recognition.
      for (let flip = 0; flip < flips; flip++) {
        const at = 12 + Math.floor(next() * (damaged.length - 12));
        damaged[at]! ^= 1 << Math.floor(next() * 8);
      }
      add(`${format} with ${flips} bits flipped (variant ${variant})`, damaged, { accepted: 'either' }, false);
    }
  }

  return { files, seed, close: () => fs.rm(work, { recursive: true, force: true }) };
}
