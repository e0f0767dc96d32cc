/**
 * `node bench/quality.ts`: how good and how small Jacket's renditions are (issue 23), not part of `npm test`.
 *
 * A corpus made here, the same on every run (seeded): photograph-like images (1/f noise fields, soft shapes, grain),
 * generated book covers with text at several sizes (SVG rendered by librsvg through sharp), a greyscale photo, flat
 * palette PNGs and a 32×32 palette icon; 1200×1800 and 2400×3600 originals. For every size Jacket serves and every
 * format, each pipeline's rendition is measured by its bytes and its SSIM against a reference: Lanczos-3 resized in
 * linear light from the decoded original (computed here in floating point, so no encoder or library's own resize is
 * favoured). For the large renditions also the edge energy (sum of squared Sobel gradients of luma) against the
 * reference's. Pipelines: Open Library's coverstore (Debian's python3-pil: LANCZOS, JPEG q90, baseline, 4:2:0),
 * sharp's defaults, Jacket before issue 23 and Jacket's settings now (src/images/encoding.ts).
 *
 * SSIM is Wang et al.'s (2004) on BT.601 luma of the 8-bit sRGB values: an 11×11 Gaussian window (σ 1.5),
 * K1 0.01, K2 0.03, edges clamped, the mean over every pixel. It is written here (40 lines) rather than taken from
 * npm: the packages there work on RGBA canvases per channel with their own window defaults, and the formula is
 * short enough to read whole.
 *
 *   node bench/quality.ts                       the table for BENCHMARKS.md
 *   BENCH_QUALITY_EXPLORE=1 node bench/quality.ts   also the candidate settings the choice was made from
 *   BENCH_QUALITY_QUICK=1 …                      1200×1800 originals only (for trying settings)
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { ENCODER_TIERS, encoderSettings, type EncoderSettings } from '../src/images/encoding.ts';
import { renderRendition, type RenditionFormat } from '../src/images/render.ts';
import { fitLongestSide, openLibrarySize, type Dimensions } from '../src/images/sizes.ts';

const EXPLORE = process.env.BENCH_QUALITY_EXPLORE === '1';
const QUICK = process.env.BENCH_QUALITY_QUICK === '1';
const PYTHON = '/usr/bin/python3';
const FORMATS: RenditionFormat[] = ['jpeg', 'webp', 'avif'];

function log(line: string): void {
  process.stdout.write(line + '\n');
}

// ---------------------------------------------------------------------------------------------------------------
// The corpus

/** mulberry32: a small seeded generator, so the corpus is the same on every run. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Random RGB noise at 1/`cell` of the size, upscaled smoothly: one octave of a 1/f field. */
async function octave(random: () => number, width: number, height: number, cell: number, channels: 1 | 3): Promise<Buffer> {
  const w = Math.max(2, Math.ceil(width / cell));
  const h = Math.max(2, Math.ceil(height / cell));
  const noise = Buffer.alloc(w * h * channels);
  for (let i = 0; i < noise.length; i++) noise[i] = Math.floor(random() * 256);
  return sharp(noise, { raw: { width: w, height: h, channels } })
    .resize(width, height, { kernel: 'cubic', fit: 'fill' })
    .raw()
    .toBuffer();
}

/**
 * Photograph-like pixels: octaves of noise with amplitude falling as 1/f (as natural images' spectra do), soft-edged
 * shapes (objects out of and in focus), and sensor grain.
 */
async function photoPixels(seed: number, width: number, height: number, channels: 1 | 3): Promise<Buffer> {
  const random = seeded(seed);
  const cells = [width / 3, width / 12, width / 48, 16, 4];
  const weights = [1, 0.5, 0.25, 0.14, 0.08];
  const sum = new Float32Array(width * height * channels);
  let total = 0;
  for (let o = 0; o < cells.length; o++) {
    const layer = await octave(random, width, height, cells[o]!, channels);
    for (let i = 0; i < sum.length; i++) sum[i]! += (layer[i]! - 128) * weights[o]!;
    total += weights[o]!;
  }
  const base = Buffer.alloc(sum.length);
  const tint = [random() * 80 - 40, random() * 80 - 40, random() * 80 - 40];
  for (let i = 0; i < sum.length; i++) {
    const grain = (random() - 0.5) * 10;
    base[i] = Math.max(0, Math.min(255, 128 + tint[i % channels]! + (sum[i]! / total) * 2.6 + grain));
  }
  // Shapes: ellipses and polygons, some sharp, some blurred, as objects at different depths.
  const shapes: string[] = [];
  for (let s = 0; s < 14; s++) {
    const colour = `rgb(${Math.floor(random() * 256)},${Math.floor(random() * 256)},${Math.floor(random() * 256)})`;
    const blur = random() < 0.5 ? 0 : 1 + random() * 6;
    const x = random() * width;
    const y = random() * height;
    const r = (0.03 + random() * 0.15) * width;
    shapes.push(
      `<ellipse cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" rx="${r.toFixed(1)}" ry="${(r * (0.4 + random())).toFixed(1)}" fill="${colour}" fill-opacity="${(0.35 + random() * 0.5).toFixed(2)}"${blur ? ` filter="url(#b${s})"` : ''}/>`,
      blur ? `<filter id="b${s}"><feGaussianBlur stdDeviation="${blur.toFixed(1)}"/></filter>` : '',
    );
  }
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${shapes.join('')}</svg>`;
  const composed = sharp(base, { raw: { width, height, channels } }).composite([{ input: Buffer.from(svg) }]);
  return (channels === 1 ? composed.greyscale() : composed).removeAlpha().raw().toBuffer();
}

const WORDS = 'the of and night garden river house winter letters secret history long city shadow glass iron light silent empire road daughter sea war stone'.split(' ');
const escapeXml = (text: string) => text.replace(/[<>&"]/g, (c) => `&#${c.charCodeAt(0)};`);

/** A book cover: background (photo or flat gradient), a title, an author, a blurb in small type, rules and a logo. */
function coverSvg(seed: number, width: number, height: number, flat: boolean): string {
  const random = seeded(seed * 7919);
  const word = () => WORDS[Math.floor(random() * WORDS.length)]!;
  const title = `${word()} ${word()}`.toUpperCase();
  const author = `${word()} ${word()}`.replace(/\b./g, (c) => c.toUpperCase());
  const u = width / 1200;
  const ink = flat ? '#1a1a1a' : '#ffffff';
  const hue = Math.floor(random() * 360);
  const background = flat
    ? `<defs><linearGradient id="g" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="hsl(${hue},45%,88%)"/><stop offset="1" stop-color="hsl(${(hue + 40) % 360},40%,62%)"/></linearGradient></defs><rect width="100%" height="100%" fill="url(#g)"/>`
    : '';
  const blurb = Array.from({ length: 7 }, (_, line) => {
    const text = Array.from({ length: 9 }, word).join(' ');
    return `<text x="${120 * u}" y="${(1380 + line * 30) * u}" font-family="DejaVu Serif" font-size="${20 * u}" fill="${ink}">${escapeXml(text)}</text>`;
  }).join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${background}
    <rect x="${60 * u}" y="${60 * u}" width="${1080 * u}" height="${1680 * u}" fill="none" stroke="${ink}" stroke-width="${3 * u}"/>
    <text x="50%" y="${420 * u}" text-anchor="middle" font-family="DejaVu Serif" font-weight="bold" font-size="${120 * u}" fill="${ink}">${escapeXml(title)}</text>
    <text x="50%" y="${560 * u}" text-anchor="middle" font-family="DejaVu Sans" font-size="${56 * u}" fill="${ink}">${escapeXml(author)}</text>
    <line x1="${300 * u}" y1="${620 * u}" x2="${900 * u}" y2="${620 * u}" stroke="${ink}" stroke-width="${2 * u}"/>
    <text x="50%" y="${1250 * u}" text-anchor="middle" font-family="DejaVu Sans" font-style="italic" font-size="${34 * u}" fill="${ink}">A NOVEL</text>
    ${blurb}
    <circle cx="50%" cy="${1640 * u}" r="${34 * u}" fill="${ink}"/><text x="50%" y="${1652 * u}" text-anchor="middle" font-family="DejaVu Sans Mono" font-size="${30 * u}" fill="${flat ? '#fff' : '#000'}">J</text>
  </svg>`;
}

interface CorpusImage {
  name: string;
  file: string;
}

async function makeCorpus(dir: string): Promise<CorpusImage[]> {
  const images: CorpusImage[] = [];
  const add = async (name: string, bytes: Buffer) => {
    const file = path.join(dir, name);
    await fs.writeFile(file, bytes);
    images.push({ name, file });
  };
  const big: Array<[number, number]> = QUICK ? [] : [[2400, 3600]];
  for (const [index, [width, height]] of ([[1200, 1800], [1200, 1800], [1800, 1200], ...big] as Array<[number, number]>).entries()) {
    const pixels = await photoPixels(100 + index, width, height, 3);
    await add(`photo-${index}-${width}x${height}.jpg`, await sharp(pixels, { raw: { width, height, channels: 3 } }).jpeg({ quality: 95, chromaSubsampling: '4:4:4' }).toBuffer());
  }
  {
    const pixels = await photoPixels(200, 1200, 1800, 1);
    await add('grey-photo-1200x1800.jpg', await sharp(pixels, { raw: { width: 1200, height: 1800, channels: 1 } }).jpeg({ quality: 92 }).toBuffer());
  }
  for (const [index, [width, height]] of ([[1200, 1800], [1200, 1800], ...big] as Array<[number, number]>).entries()) {
    const pixels = await photoPixels(300 + index, width, height, 3);
    const cover = await sharp(pixels, { raw: { width, height, channels: 3 } }).composite([{ input: Buffer.from(coverSvg(300 + index, width, height, false)) }]).removeAlpha().jpeg({ quality: 92 }).toBuffer();
    await add(`photo-cover-${index}-${width}x${height}.jpg`, cover);
  }
  for (const [index, [width, height]] of ([[1200, 1800], [1200, 1800], ...big] as Array<[number, number]>).entries()) {
    const cover = await sharp(Buffer.from(coverSvg(400 + index, width, height, true))).jpeg({ quality: 90 }).toBuffer();
    await add(`flat-cover-${index}-${width}x${height}.jpg`, cover);
  }
  for (const [index, [width, height]] of ([[600, 900], [1200, 1800]] as Array<[number, number]>).entries()) {
    const png = await sharp(Buffer.from(coverSvg(500 + index, width, height, true))).png({ palette: true, colours: 16, dither: 0 }).toBuffer();
    await add(`palette-cover-${index}-${width}x${height}.png`, png);
  }
  {
    const icon = `<svg xmlns="http://www.w3.org/2000/svg" width="32" height="32"><rect width="32" height="32" fill="#c0392b"/><rect x="4" y="4" width="24" height="24" fill="#f1c40f"/><rect x="9" y="9" width="14" height="14" fill="#2c3e50"/><line x1="0" y1="31" x2="32" y2="31" stroke="#27ae60" stroke-width="2"/></svg>`;
    await add('palette-icon-32x32.png', await sharp(Buffer.from(icon)).png({ palette: true, colours: 8, dither: 0 }).toBuffer());
  }
  return images;
}

// ---------------------------------------------------------------------------------------------------------------
// Reference, SSIM, edge energy

interface Rgb {
  width: number;
  height: number;
  /** Linear-light RGB, 0..1. */
  data: Float32Array;
}

const toLinear = Float32Array.from({ length: 256 }, (_, v) => {
  const c = v / 255;
  return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
});
const toSrgb = (l: number) => 255 * (l <= 0.0031308 ? 12.92 * l : 1.055 * l ** (1 / 2.4) - 0.055);

/** The original as a browser shows it: upright, alpha flattened onto white, sRGB, decoded at full size. */
async function decodeOriginal(file: string): Promise<Rgb> {
  const { data, info } = await sharp(file).autoOrient().flatten({ background: '#ffffff' }).toColourspace('srgb').removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const linear = new Float32Array(info.width * info.height * 3);
  for (let i = 0; i < linear.length; i++) linear[i] = toLinear[data[i]!]!;
  return { width: info.width, height: info.height, data: linear };
}

const lanczos3 = (x: number) => {
  if (x === 0) return 1;
  if (Math.abs(x) >= 3) return 0;
  const px = Math.PI * x;
  return (3 * Math.sin(px) * Math.sin(px / 3)) / (px * px);
};

/** Lanczos-3 along one axis, the kernel widened by the downscale factor (so it low-passes), weights normalised. */
function resampleAxis(src: Float32Array, lines: number, length: number, stride: number, lineStride: number, outLength: number): Float32Array {
  const scale = length / outLength;
  const support = 3 * Math.max(1, scale);
  const out = new Float32Array(lines * outLength * 3);
  for (let o = 0; o < outLength; o++) {
    const centre = (o + 0.5) * scale - 0.5;
    const first = Math.max(0, Math.ceil(centre - support));
    const last = Math.min(length - 1, Math.floor(centre + support));
    const weights: number[] = [];
    let total = 0;
    for (let s = first; s <= last; s++) {
      const w = lanczos3((s - centre) / Math.max(1, scale));
      weights.push(w);
      total += w;
    }
    for (let line = 0; line < lines; line++) {
      let r = 0;
      let g = 0;
      let b = 0;
      for (let k = 0; k < weights.length; k++) {
        const at = line * lineStride + (first + k) * stride;
        const w = weights[k]!;
        r += src[at]! * w;
        g += src[at + 1]! * w;
        b += src[at + 2]! * w;
      }
      // Output laid out as the transposed image: the next pass reads along what are now rows.
      const to = (o * lines + line) * 3;
      out[to] = r / total;
      out[to + 1] = g / total;
      out[to + 2] = b / total;
    }
  }
  return out;
}

/** BT.601 luma and colour-difference planes of 8-bit sRGB values. */
interface Planes {
  luma: Float32Array;
  cb: Float32Array;
  cr: Float32Array;
}

function planesOf(rgb: ArrayLike<number>, pixels: number): Planes {
  const planes = { luma: new Float32Array(pixels), cb: new Float32Array(pixels), cr: new Float32Array(pixels) };
  for (let i = 0; i < pixels; i++) {
    const r = rgb[i * 3]!;
    const g = rgb[i * 3 + 1]!;
    const b = rgb[i * 3 + 2]!;
    planes.luma[i] = 0.299 * r + 0.587 * g + 0.114 * b;
    planes.cb[i] = 128 - 0.168736 * r - 0.331264 * g + 0.5 * b;
    planes.cr[i] = 128 + 0.5 * r - 0.418688 * g - 0.081312 * b;
  }
  return planes;
}

/** The reference rendition: Lanczos-3 in linear light, then 8-bit sRGB. */
function reference(original: Rgb, target: Dimensions): Planes {
  // Rows first (width shrinks), written transposed; then the (transposed) rows again, which are the columns.
  const pass1 = resampleAxis(original.data, original.height, original.width, 3, original.width * 3, target.width);
  const pass2 = resampleAxis(pass1, target.width, original.height, 3, original.height * 3, target.height);
  // pass2 is laid out [x][y] transposed twice, i.e. row-major again: index (y * width + x).
  const srgb = new Uint8Array(pass2.length);
  for (let i = 0; i < srgb.length; i++) srgb[i] = Math.round(Math.min(255, Math.max(0, toSrgb(pass2[i]!))));
  return planesOf(srgb, target.width * target.height);
}

/** A rendition's planes, decoded as a browser would (white behind any alpha). */
async function planesOfRendition(bytes: Buffer, target: Dimensions): Promise<Planes> {
  const { data, info } = await sharp(bytes).flatten({ background: '#ffffff' }).toColourspace('srgb').removeAlpha().raw().toBuffer({ resolveWithObject: true });
  if (info.width !== target.width || info.height !== target.height) throw new Error(`rendition is ${info.width}×${info.height}, not ${target.width}×${target.height}`);
  return planesOf(data, info.width * info.height);
}

const GAUSSIAN = (() => {
  const w = Array.from({ length: 11 }, (_, i) => Math.exp(-((i - 5) ** 2) / (2 * 1.5 * 1.5)));
  const sum = w.reduce((a, b) => a + b, 0);
  return w.map((v) => v / sum);
})();

/** Separable 11×11 Gaussian blur of a width×height plane, edges clamped. */
function blur(plane: Float32Array, width: number, height: number): Float32Array {
  const across = new Float32Array(plane.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let sum = 0;
      for (let k = -5; k <= 5; k++) sum += plane[y * width + Math.min(width - 1, Math.max(0, x + k))]! * GAUSSIAN[k + 5]!;
      across[y * width + x] = sum;
    }
  }
  const out = new Float32Array(plane.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let sum = 0;
      for (let k = -5; k <= 5; k++) sum += across[Math.min(height - 1, Math.max(0, y + k)) * width + x]! * GAUSSIAN[k + 5]!;
      out[y * width + x] = sum;
    }
  }
  return out;
}

/** Mean SSIM of two luma planes (Wang et al. 2004: Gaussian window σ 1.5, K1 0.01, K2 0.03, L 255). */
function ssim(a: Float32Array, b: Float32Array, width: number, height: number): number {
  const c1 = (0.01 * 255) ** 2;
  const c2 = (0.03 * 255) ** 2;
  const product = (x: Float32Array, y: Float32Array) => x.map((v, i) => v * y[i]!);
  const muA = blur(a, width, height);
  const muB = blur(b, width, height);
  const aa = blur(product(a, a), width, height);
  const bb = blur(product(b, b), width, height);
  const ab = blur(product(a, b), width, height);
  let total = 0;
  for (let i = 0; i < a.length; i++) {
    const ma = muA[i]!;
    const mb = muB[i]!;
    const va = aa[i]! - ma * ma;
    const vb = bb[i]! - mb * mb;
    const cov = ab[i]! - ma * mb;
    total += ((2 * ma * mb + c1) * (2 * cov + c2)) / ((ma * ma + mb * mb + c1) * (va + vb + c2));
  }
  return total / a.length;
}

/** Sum of squared Sobel gradients over the interior: how much edge detail a rendition keeps. */
function edgeEnergy(luma: Float32Array, width: number, height: number): number {
  let total = 0;
  for (let y = 1; y < height - 1; y++) {
    for (let x = 1; x < width - 1; x++) {
      const p = (dx: number, dy: number) => luma[(y + dy) * width + x + dx]!;
      const gx = p(1, -1) + 2 * p(1, 0) + p(1, 1) - p(-1, -1) - 2 * p(-1, 0) - p(-1, 1);
      const gy = p(-1, 1) + 2 * p(0, 1) + p(1, 1) - p(-1, -1) - 2 * p(0, -1) - p(1, -1);
      total += gx * gx + gy * gy;
    }
  }
  return total;
}

// ---------------------------------------------------------------------------------------------------------------
// Pipelines

interface Job {
  image: CorpusImage;
  size: string;
  target: Dimensions;
}

/** Open Library's coverstore: PIL's LANCZOS resize to the same dimensions, then JPEG q90, baseline, 4:2:0. */
function coverstore(jobs: Job[], dir: string): Buffer[] {
  const script = `
import json, sys
from PIL import Image
for job in json.load(sys.stdin):
    image = Image.open(job["src"])
    if image.mode in ("RGBA", "LA", "P"):
        image = image.convert("RGBA")
        white = Image.new("RGBA", image.size, (255, 255, 255, 255))
        image = Image.alpha_composite(white, image)
    image = image.convert("RGB")
    image = image.resize((job["width"], job["height"]), resample=Image.LANCZOS)
    image.save(job["out"], "JPEG", quality=90)
`;
  const outs = jobs.map((_, i) => path.join(dir, `coverstore-${i}.jpg`));
  const input = JSON.stringify(jobs.map((job, i) => ({ src: job.image.file, width: job.target.width, height: job.target.height, out: outs[i] })));
  const result = spawnSync(PYTHON, ['-c', script], { input, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`coverstore pipeline (${PYTHON}, python3-pil) failed: ${result.stderr}`);
  return outs.map((file) => readFileSync(file));
}

interface Pipeline {
  name: string;
  /** Formats it makes (coverstore: JPEG only). */
  formats: RenditionFormat[];
  settingsFor?: (target: Dimensions) => EncoderSettings;
}

const SHARP_DEFAULTS: EncoderSettings = { shrinkOnLoad: true, sharpenSigma: 0, jpeg: {}, webp: {}, avif: {} };
const BEFORE: EncoderSettings = {
  shrinkOnLoad: true,
  sharpenSigma: 0,
  jpeg: { quality: 82 },
  webp: { quality: 80, effort: 2 },
  avif: { quality: 55, effort: 0 },
};

function pipelines(): Pipeline[] {
  const list: Pipeline[] = [
    { name: 'coverstore (PIL LANCZOS, q90, baseline, 4:2:0)', formats: ['jpeg'] },
    { name: "sharp's defaults (q80; WebP q80; AVIF q50 effort 4)", formats: FORMATS, settingsFor: () => SHARP_DEFAULTS },
    { name: 'Jacket before (q82, shrink-on-load; WebP q80 e2; AVIF q55 e0)', formats: FORMATS, settingsFor: () => BEFORE },
    { name: 'Jacket now (src/images/encoding.ts)', formats: FORMATS, settingsFor: encoderSettings },
  ];
  if (!EXPLORE) return list;
  const jpeg = (name: string, settings: Partial<EncoderSettings>, options: object): Pipeline => ({
    name,
    formats: ['jpeg'],
    settingsFor: () => ({ ...SHARP_DEFAULTS, ...settings, jpeg: options }),
  });
  const other = (name: string, format: 'webp' | 'avif', settings: Partial<EncoderSettings>, options: object): Pipeline => ({
    name,
    formats: [format],
    settingsFor: () => ({ ...SHARP_DEFAULTS, ...settings, [format]: options }),
  });
  // The candidates Jacket's settings were chosen from (BENCHMARKS.md). "gentle": fastShrinkOnLoad false.
  const gentle = { shrinkOnLoad: false };
  const trellis = { trellisQuantisation: true, overshootDeringing: true, optimiseScans: true };
  return [
    ...list,
    jpeg('q90 progressive, fast SOL', {}, { quality: 90, progressive: true }),
    jpeg('q90 progressive, gentle SOL', gentle, { quality: 90, progressive: true }),
    jpeg('q91 progressive, gentle SOL', gentle, { quality: 91, progressive: true }),
    jpeg('q92 progressive, gentle SOL', gentle, { quality: 92, progressive: true }),
    jpeg('q88 mozjpeg preset, gentle SOL', gentle, { quality: 88, mozjpeg: true }),
    jpeg('q92 trellis progressive, gentle SOL', gentle, { quality: 92, progressive: true, ...trellis }),
    jpeg('q93 trellis progressive, gentle SOL', gentle, { quality: 93, progressive: true, ...trellis }),
    jpeg('q90 progressive 4:4:4, gentle SOL', gentle, { quality: 90, progressive: true, chromaSubsampling: '4:4:4' }),
    jpeg('q86 trellis progressive 4:4:4, gentle SOL', gentle, { quality: 86, progressive: true, ...trellis, chromaSubsampling: '4:4:4' }),
    jpeg('q90 progressive, gentle SOL, sharpen σ 0.5', { ...gentle, sharpenSigma: 0.5 }, { quality: 90, progressive: true }),
    other('WebP q88 e2', 'webp', gentle, { quality: 88, effort: 2 }),
    other('WebP q90 e2', 'webp', gentle, { quality: 90, effort: 2 }),
    other('WebP q90 e4', 'webp', gentle, { quality: 90, effort: 4 }),
    other('WebP q92 e4', 'webp', gentle, { quality: 92, effort: 4 }),
    other('WebP q88 e4 smartSubsample', 'webp', gentle, { quality: 88, effort: 4, smartSubsample: true }),
    other('AVIF q55 e0', 'avif', gentle, { quality: 55, effort: 0 }),
    other('AVIF q70 e0', 'avif', gentle, { quality: 70, effort: 0 }),
    other('AVIF q75 e0 4:2:0 tune ssim', 'avif', gentle, { quality: 75, effort: 0, chromaSubsampling: '4:2:0', tune: 'ssim' }),
    other('AVIF q70 e2', 'avif', gentle, { quality: 70, effort: 2 }),
    other('AVIF q70 e2 tune ssim', 'avif', gentle, { quality: 70, effort: 2, tune: 'ssim' }),
    other('AVIF q75 e2 4:2:0', 'avif', gentle, { quality: 75, effort: 2, chromaSubsampling: '4:2:0' }),
    other('AVIF q74 e3 4:2:0', 'avif', gentle, { quality: 74, effort: 3, chromaSubsampling: '4:2:0' }),
    other('AVIF q77 e3 4:2:0', 'avif', gentle, { quality: 77, effort: 3, chromaSubsampling: '4:2:0' }),
    other('AVIF q74 e4 4:2:0', 'avif', gentle, { quality: 74, effort: 4, chromaSubsampling: '4:2:0' }),
    other('AVIF q76 e4 4:2:0', 'avif', gentle, { quality: 76, effort: 4, chromaSubsampling: '4:2:0' }),
    other('AVIF q74 e3 4:2:0 10-bit', 'avif', gentle, { quality: 74, effort: 3, chromaSubsampling: '4:2:0', bitdepth: 10 }),
    other('AVIF q76 e3 4:2:0 10-bit', 'avif', gentle, { quality: 76, effort: 3, chromaSubsampling: '4:2:0', bitdepth: 10 }),
  ];
}

// ---------------------------------------------------------------------------------------------------------------
// The run

interface Score {
  bytes: number;
  ssim: number;
  /** SSIM of the colour-difference planes (mean of Cb and Cr): what chroma subsampling costs, which luma cannot show. */
  chroma: number;
  edge: number;
  ms: number;
}

const ALL_SIZES: Array<{ name: string; dimensions: (width: number, height: number) => Dimensions }> = [
  { name: 'S', dimensions: (w, h) => openLibrarySize(w, h, 'S') },
  { name: 'M', dimensions: (w, h) => openLibrarySize(w, h, 'M') },
  { name: '250', dimensions: (w, h) => fitLongestSide(w, h, 250) },
  // L is a 500×500 box, the Cover Art Archive's 500 a longest side of 500: the same pixels for every image here.
  { name: 'L / 500', dimensions: (w, h) => openLibrarySize(w, h, 'L') },
  { name: '1200', dimensions: (w, h) => fitLongestSide(w, h, 1200) },
];

/** BENCH_QUALITY_SIZES=M,L (for working on settings): only those sizes. */
const SIZES = ALL_SIZES.filter((size) => !process.env.BENCH_QUALITY_SIZES || process.env.BENCH_QUALITY_SIZES.split(',').includes(size.name.split(' ')[0]!));

const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'jacket-quality-'));
try {
  const corpus = await makeCorpus(dir);
  log(`corpus: ${corpus.length} images (${corpus.map((image) => image.name).join(', ')}); sharp ${sharp.versions.sharp}, libvips ${sharp.versions.vips}, mozjpeg ${sharp.versions.mozjpeg}`);
  log(`Jacket's tiers: ${ENCODER_TIERS.map((tier) => `≤ ${tier.upTo} px: ${JSON.stringify(tier.settings)}`).join('; ')}`);
  const jobs: Job[] = [];
  const references: Planes[] = [];
  for (const image of corpus) {
    const original = await decodeOriginal(image.file);
    for (const size of SIZES) {
      const target = size.dimensions(original.width, original.height);
      jobs.push({ image, size: size.name, target });
      references.push(reference(original, target));
    }
  }
  const referenceEdges = jobs.map((job, i) => edgeEnergy(references[i]!.luma, job.target.width, job.target.height));
  const all = pipelines();
  // scores[pipeline][format][size] = per-image scores
  const scores = new Map<string, Map<RenditionFormat, Map<string, Score[]>>>();
  const record = async (pipeline: string, format: RenditionFormat, i: number, bytes: Buffer, ms: number) => {
    const job = jobs[i]!;
    const planes = await planesOfRendition(bytes, job.target);
    const { width, height } = job.target;
    const ref = references[i]!;
    const score: Score = {
      bytes: bytes.length,
      ssim: ssim(ref.luma, planes.luma, width, height),
      chroma: (ssim(ref.cb, planes.cb, width, height) + ssim(ref.cr, planes.cr, width, height)) / 2,
      edge: edgeEnergy(planes.luma, width, height) / referenceEdges[i]!,
      ms,
    };
    const byFormat = scores.get(pipeline) ?? new Map();
    scores.set(pipeline, byFormat);
    const bySize = byFormat.get(format) ?? new Map();
    byFormat.set(format, bySize);
    (bySize.get(job.size) ?? bySize.set(job.size, []).get(job.size)!).push(score);
  };
  const started = performance.now();
  const store = coverstore(jobs, dir);
  const coverstoreMs = (performance.now() - started) / jobs.length;
  for (let i = 0; i < jobs.length; i++) await record(all[0]!.name, 'jpeg', i, store[i]!, coverstoreMs);
  for (const pipeline of all.slice(1)) {
    for (const format of pipeline.formats) {
      for (let i = 0; i < jobs.length; i++) {
        const job = jobs[i]!;
        const before = performance.now();
        const bytes = await renderRendition(job.image.file, job.target, format, pipeline.settingsFor!(job.target));
        await record(pipeline.name, format, i, bytes, performance.now() - before);
      }
    }
  }

  const mean = (list: Score[], key: keyof Score) => list.reduce((sum, score) => sum + score[key], 0) / list.length;
  const baseline = scores.get(all[0]!.name)!.get('jpeg')!;
  log(`\nMeans over the ${corpus.length} images; bytes ratio against the coverstore's JPEG of the same size; ms = wall time per rendition, one at a time.\n`);
  log('| size | pipeline | format | bytes | × coverstore | SSIM | chroma SSIM | edge energy | ms |');
  log('|---|---|---|---|---|---|---|---|---|');
  for (const size of SIZES) {
    const base = baseline.get(size.name)!;
    for (const pipeline of all) {
      for (const format of pipeline.formats) {
        const list = scores.get(pipeline.name)!.get(format)!.get(size.name)!;
        log(
          `| ${size.name} | ${pipeline.name} | ${format} | ${(mean(list, 'bytes') / 1000).toFixed(1)} KB | ${(mean(list, 'bytes') / mean(base, 'bytes')).toFixed(2)} | ${mean(list, 'ssim').toFixed(4)} | ${mean(list, 'chroma').toFixed(4)} | ${mean(list, 'edge').toFixed(3)} | ${mean(list, 'ms').toFixed(1)} |`,
        );
      }
    }
  }

  // The targets, for Jacket now, against the coverstore, for M and for L.
  log('\nTargets (Jacket now against the coverstore pipeline):');
  let met = true;
  const jacket = scores.get(all[3]!.name)!;
  for (const size of ['M', 'L / 500'].filter((name) => baseline.has(name))) {
    const base = baseline.get(size)!;
    const limits: Record<RenditionFormat, number> = { jpeg: 1.0, webp: 0.8, avif: 0.6 };
    for (const format of FORMATS) {
      const list = jacket.get(format)!.get(size)!;
      const ratio = mean(list, 'bytes') / mean(base, 'bytes');
      const ok = mean(list, 'ssim') >= mean(base, 'ssim') && ratio <= limits[format];
      met &&= ok;
      log(`  ${ok ? 'MET ' : 'MISS'} ${size} ${format}: SSIM ${mean(list, 'ssim').toFixed(4)} vs ${mean(base, 'ssim').toFixed(4)}, bytes ${ratio.toFixed(3)}× (≤ ${limits[format]}×)`);
    }
  }
  if (baseline.has('L / 500')) {
    const edge = mean(jacket.get('jpeg')!.get('L / 500')!, 'edge');
    met &&= edge >= 0.98;
    log(`  ${edge >= 0.98 ? 'MET ' : 'MISS'} L jpeg edge energy ${edge.toFixed(3)} of the reference (≥ 0.98)`);
  }
  process.exitCode = met ? 0 : 1;
} finally {
  await fs.rm(dir, { recursive: true, force: true });
}
