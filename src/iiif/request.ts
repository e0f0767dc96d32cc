import { JacketError } from '../errors.ts';

/**
 * The four parameters of a IIIF Image API 3.0 image request (`{region}/{size}/{rotation}/{quality}.{format}`), read
 * as the specification writes them. Bad syntax is a 400; a valid request for something Jacket does not do (arbitrary
 * angles, TIFF, GIF, JPEG 2000, PDF) is a 501, as the specification's status table says.
 */

export type Region =
  | { kind: 'full' }
  | { kind: 'square' }
  | { kind: 'pixels'; x: number; y: number; width: number; height: number }
  | { kind: 'percent'; x: number; y: number; width: number; height: number };

/** A size form; `upscale` is the `^` prefix, without which nothing may come out larger than the region. */
export type Size = { upscale: boolean } & (
  | { kind: 'max' }
  | { kind: 'width'; width: number }
  | { kind: 'height'; height: number }
  | { kind: 'percent'; percent: number }
  | { kind: 'exact'; width: number; height: number }
  | { kind: 'fit'; width: number; height: number }
);

/** Mirroring (the `!` prefix) comes first, then a clockwise turn by a multiple of 90°. */
export interface Rotation {
  mirror: boolean;
  degrees: 0 | 90 | 180 | 270;
}

export const QUALITIES = ['default', 'color', 'gray', 'bitonal'] as const;
export type Quality = (typeof QUALITIES)[number];

/** The formats Jacket writes: jpg and png (level 2), webp and avif (extra formats). */
export const FORMATS = { jpg: 'image/jpeg', png: 'image/png', webp: 'image/webp', avif: 'image/avif' } as const;
export type Format = keyof typeof FORMATS;
/** Formats the specification names that Jacket does not write: a valid request, so 501 rather than 400. */
const UNSUPPORTED_FORMATS = ['tif', 'gif', 'jp2', 'pdf'];

export interface ImageRequest {
  region: Region;
  size: Size;
  rotation: Rotation;
  quality: Quality;
  format: Format;
}

const INTEGER = /^\d{1,9}$/;
const DECIMAL = /^\d{1,9}(?:\.\d{1,9})?$/;

export function badRequest(code: string, message: string): JacketError {
  return new JacketError(400, code, message);
}

function notImplemented(code: string, message: string): JacketError {
  return new JacketError(501, code, message);
}

export function parseImageRequest(region: string, size: string, rotation: string, qualityFormat: string): ImageRequest {
  return { region: parseRegion(region), size: parseSize(size), rotation: parseRotation(rotation), ...parseQualityFormat(qualityFormat) };
}

export function parseRegion(text: string): Region {
  if (text === 'full' || text === 'square') return { kind: text };
  const percent = text.startsWith('pct:');
  const parts = (percent ? text.slice(4) : text).split(',');
  const number = percent ? DECIMAL : INTEGER;
  if (parts.length !== 4 || !parts.every((part) => number.test(part))) {
    throw badRequest('invalid_region', `The region "${text.slice(0, 60)}" is not full, square, x,y,w,h or pct:x,y,w,h.`);
  }
  const [x, y, width, height] = parts.map(Number) as [number, number, number, number];
  if (width === 0 || height === 0) throw badRequest('invalid_region', `The region "${text.slice(0, 60)}" has no width or no height.`);
  return { kind: percent ? 'percent' : 'pixels', x, y, width, height };
}

export function parseSize(text: string): Size {
  const upscale = text.startsWith('^');
  const form = upscale ? text.slice(1) : text;
  const invalid = () => badRequest('invalid_size', `The size "${text.slice(0, 60)}" is not max, w,, ,h, pct:n, w,h or !w,h (each may start with ^).`);
  if (form === 'max') return { upscale, kind: 'max' };
  if (form.startsWith('pct:')) {
    if (!DECIMAL.test(form.slice(4))) throw invalid();
    return { upscale, kind: 'percent', percent: Number(form.slice(4)) };
  }
  const fit = form.startsWith('!');
  const parts = (fit ? form.slice(1) : form).split(',');
  if (parts.length !== 2 || !parts.every((part) => part === '' || INTEGER.test(part))) throw invalid();
  const [width, height] = parts.map((part) => (part === '' ? undefined : Number(part)));
  if (width !== undefined && height !== undefined) return { upscale, kind: fit ? 'fit' : 'exact', width, height };
  if (fit) throw invalid();
  if (width !== undefined) return { upscale, kind: 'width', width };
  if (height !== undefined) return { upscale, kind: 'height', height };
  throw invalid();
}

export function parseRotation(text: string): Rotation {
  const mirror = text.startsWith('!');
  const angle = mirror ? text.slice(1) : text;
  const degrees = Number(angle);
  if (!DECIMAL.test(angle) || degrees > 360) throw badRequest('invalid_rotation', `The rotation "${text.slice(0, 60)}" is not a number from 0 to 360, optionally after !.`);
  const turn = degrees % 360;
  if (turn !== 0 && turn !== 90 && turn !== 180 && turn !== 270) {
    throw notImplemented('unsupported_rotation', `Rotation by ${angle}° is not supported: only multiples of 90° are.`);
  }
  return { mirror, degrees: turn };
}

export function parseQualityFormat(text: string): { quality: Quality; format: Format } {
  const dot = text.lastIndexOf('.');
  if (dot === -1) throw badRequest('invalid_format', `"${text.slice(0, 60)}" is not {quality}.{format}: the format is missing.`);
  const quality = text.slice(0, dot);
  const format = text.slice(dot + 1);
  if (!(QUALITIES as readonly string[]).includes(quality)) {
    throw badRequest('invalid_quality', `The quality "${quality.slice(0, 40)}" is not one of ${QUALITIES.join(', ')}.`);
  }
  if (UNSUPPORTED_FORMATS.includes(format)) throw notImplemented('unsupported_format', `The format ${format} is not supported: ask for ${Object.keys(FORMATS).join(', ')}.`);
  if (!Object.hasOwn(FORMATS, format)) throw badRequest('invalid_format', `The format "${format.slice(0, 40)}" is not one of ${Object.keys(FORMATS).join(', ')}.`);
  return { quality: quality as Quality, format: format as Format };
}
