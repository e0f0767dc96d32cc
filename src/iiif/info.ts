import type { Dimensions } from '../images/sizes.ts';
import type { SizeLimits } from './geometry.ts';

export const CONTEXT = 'http://iiif.io/api/image/3/context.json';
export const PROFILE_URI = 'http://iiif.io/api/image/3/level2.json';
/** The tile edge viewers are offered: tiles of this size at every power-of-two scale until one tile holds the image. */
export const TILE_SIZE = 512;

/** What Jacket does beyond level 2 (specification §6): the lists info.json carries. */
const EXTRA_FORMATS = ['webp', 'avif'];
const EXTRA_QUALITIES = ['gray', 'bitonal'];
const EXTRA_FEATURES = ['canonicalLinkHeader', 'mirroring', 'profileLinkHeader', 'sizeUpscaling'];

/** Scale factors 1, 2, 4 … up to the first at which the whole image fits in one tile. */
export function scaleFactors(image: Dimensions, tile = TILE_SIZE): number[] {
  const factors = [1];
  while (Math.ceil(Math.max(image.width, image.height) / factors.at(-1)!) > tile) factors.push(factors.at(-1)! * 2);
  return factors;
}

/** The image information document (specification §5) of one image. */
export function imageInformation(id: string, image: Dimensions, sizes: Dimensions[], limits: SizeLimits) {
  return {
    '@context': CONTEXT,
    id,
    type: 'ImageService3',
    protocol: 'http://iiif.io/api/image',
    profile: 'level2',
    width: image.width,
    height: image.height,
    maxWidth: limits.maxWidth,
    maxHeight: limits.maxHeight,
    maxArea: limits.maxArea,
    sizes: sizes.map(({ width, height }) => ({ width, height })),
    tiles: [{ width: TILE_SIZE, height: TILE_SIZE, scaleFactors: scaleFactors(image) }],
    extraFormats: EXTRA_FORMATS,
    extraQualities: EXTRA_QUALITIES,
    extraFeatures: EXTRA_FEATURES,
  };
}
