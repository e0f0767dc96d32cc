import type { Dimensions } from '../images/sizes.ts';
import { badRequest, type ImageRequest, type Region, type Size } from './request.ts';

/** The server's limits on what one request may make (info.json's maxWidth, maxHeight and maxArea). */
export interface SizeLimits {
  maxWidth: number;
  maxHeight: number;
  maxArea: number;
}

/** A rectangle of the upright original, in its pixels. */
export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

/**
 * The part of the upright image a region names, cut to the image. `square` is the centred square of the shorter
 * side. A region wholly outside the image is a 400, as the specification says.
 */
export function regionRect(region: Region, image: Dimensions): Rect {
  if (region.kind === 'full') return { x: 0, y: 0, width: image.width, height: image.height };
  if (region.kind === 'square') {
    const side = Math.min(image.width, image.height);
    return { x: Math.floor((image.width - side) / 2), y: Math.floor((image.height - side) / 2), width: side, height: side };
  }
  const asked =
    region.kind === 'pixels'
      ? region
      : {
          x: Math.round((region.x * image.width) / 100),
          y: Math.round((region.y * image.height) / 100),
          width: Math.round((region.width * image.width) / 100),
          height: Math.round((region.height * image.height) / 100),
        };
  const width = Math.min(asked.width, image.width - asked.x);
  const height = Math.min(asked.height, image.height - asked.y);
  if (width <= 0 || height <= 0) throw badRequest('region_outside', `The region lies outside the ${image.width}×${image.height} image.`);
  return { x: asked.x, y: asked.y, width, height };
}

/** The largest size of this aspect within the limits, never larger than `scale` times the region. */
function largestWithin(rect: Rect, limits: SizeLimits, scale: number): Dimensions {
  const fit = Math.min(scale, limits.maxWidth / rect.width, limits.maxHeight / rect.height, Math.sqrt(limits.maxArea / (rect.width * rect.height)));
  return { width: Math.max(1, Math.floor(rect.width * fit)), height: Math.max(1, Math.floor(rect.height * fit)) };
}

/** The size `max` gives for a region: the region itself, or less when the limits are smaller. */
export function maxSize(rect: Rect, limits: SizeLimits): Dimensions {
  return largestWithin(rect, limits, 1);
}

/**
 * The pixel size a size form asks of a region. Without `^` nothing may be larger than the region (400); with it,
 * up to the limits. Anything past maxWidth, maxHeight or maxArea, or rounding to zero pixels, is a 400.
 */
export function outputSize(size: Size, rect: Rect, limits: SizeLimits): Dimensions {
  if (size.kind === 'max') return size.upscale ? largestWithin(rect, limits, Infinity) : maxSize(rect, limits);
  const scaled = (factor: number) => ({ width: Math.round(rect.width * factor), height: Math.round(rect.height * factor) });
  let out: Dimensions;
  switch (size.kind) {
    case 'width':
      out = { width: size.width, height: Math.round((rect.height * size.width) / rect.width) };
      break;
    case 'height':
      out = { width: Math.round((rect.width * size.height) / rect.height), height: size.height };
      break;
    case 'percent':
      out = scaled(size.percent / 100);
      break;
    case 'exact':
      out = { width: size.width, height: size.height };
      break;
    case 'fit': {
      const fitted = scaled(Math.min(size.width / rect.width, size.height / rect.height));
      out = { width: Math.min(fitted.width, size.width), height: Math.min(fitted.height, size.height) };
      break;
    }
  }
  if (out.width < 1 || out.height < 1) throw badRequest('invalid_size', 'The size asked comes to zero pixels.');
  if (!size.upscale && (out.width > rect.width || out.height > rect.height)) {
    throw badRequest('upscale_refused', `${out.width}×${out.height} is larger than the ${rect.width}×${rect.height} region: ask with ^ to enlarge.`);
  }
  if (out.width > limits.maxWidth || out.height > limits.maxHeight || out.width * out.height > limits.maxArea) {
    throw badRequest('beyond_limits', `${out.width}×${out.height} is past this server's limits (maxWidth ${limits.maxWidth}, maxHeight ${limits.maxHeight}, maxArea ${limits.maxArea}).`);
  }
  return out;
}

/** What one image request makes: which pixels of the upright original, at what size, turned how. */
export interface Rendering {
  rect: Rect;
  size: Dimensions;
  request: ImageRequest;
}

export function planRendering(request: ImageRequest, image: Dimensions, limits: SizeLimits): Rendering {
  const rect = regionRect(request.region, image);
  return { rect, size: outputSize(request.size, rect, limits), request };
}

/** The full region at its own size, upright, in colour: a request one of the dialects' renditions can answer. */
export function isPlainResize(rendering: Rendering, image: Dimensions): boolean {
  const { rect, request } = rendering;
  return (
    rect.width === image.width &&
    rect.height === image.height &&
    request.rotation.degrees === 0 &&
    !request.rotation.mirror &&
    (request.quality === 'default' || request.quality === 'color')
  );
}

/**
 * The canonical form of a request (specification §4.7): `full` or `x,y,w,h`, `max` or `w,h`, `!` and an integer
 * angle, the quality and format as asked. Equivalent requests share it, so it names the cached bytes too.
 */
export function canonicalPath(rendering: Rendering, image: Dimensions, limits: SizeLimits): string {
  const { rect, size, request } = rendering;
  const region = rect.width === image.width && rect.height === image.height ? 'full' : `${rect.x},${rect.y},${rect.width},${rect.height}`;
  const max = maxSize(rect, limits);
  const sizePart = size.width === max.width && size.height === max.height ? 'max' : `${size.width},${size.height}`;
  const rotation = `${request.rotation.mirror ? '!' : ''}${request.rotation.degrees}`;
  return `${region}/${sizePart}/${rotation}/${request.quality}.${request.format}`;
}
