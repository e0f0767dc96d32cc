import type { AvifOptions, JpegOptions, WebpOptions } from 'sharp';
import type { Dimensions } from './sizes.ts';

/** How one tier of rendition sizes is made: the resize and each format's encoder options. */
export interface EncoderSettings {
  /**
   * sharp's `fastShrinkOnLoad`. libvips decodes a JPEG at ½, ¼ or ⅛ scale when the target allows; with true it
   * shrinks as far as the target allows, with false only as far as leaves the Lanczos resize at least 2× to do.
   * The DCT-domain shrink is a box filter that softens detail before Lanczos sees it.
   */
  shrinkOnLoad: boolean;
  /** Sigma of a light unsharp mask after the resize, or 0 for none (measured: σ 0.5 lowers SSIM by 0.015, so none). */
  sharpenSigma: number;
  jpeg: JpegOptions;
  webp: WebpOptions;
  avif: AvifOptions;
}

/**
 * M's, L's and 1200's JPEG: q91 progressive, just above the coverstore's SSIM at 0.95× its bytes. Trellis quantisation
 * (q92) reached the same SSIM at 0.92× but cost 4–6× the CPU of a whole L rendition (75–95 ms against 16 ms before
 * this tier), CPU every miss pays; plain q91 progressive costs 1.4×.
 */
const PROGRESSIVE_Q91: JpegOptions = { quality: 91, progressive: true };

/** What every tier from M up shares: gentle shrink-on-load, no sharpening, q91 progressive JPEG. */
const FROM_M_UP = { shrinkOnLoad: false, sharpenSigma: 0, jpeg: PROGRESSIVE_Q91 } as const;

/**
 * Every rendition's encoder settings, by the rendition's longest side (the first tier whose `upTo` it fits).
 * Chosen with `node bench/quality.ts` (BENCHMARKS.md, "Rendition quality"): per tier, the JPEG at or above the
 * SSIM of Open Library's coverstore pipeline (PIL Lanczos, q90, 4:2:0) at no more bytes, WebP at ≤ 0.8× and AVIF
 * at ≤ 0.6× of those bytes, at an AVIF effort a miss can afford.
 */
export const ENCODER_TIERS: ReadonlyArray<{ upTo: number; settings: EncoderSettings }> = [
  {
    // S and the keyed small size. libvips' fast shrink-on-load measured no different here (both shrink by 8).
    // Full-resolution chroma: at 4:2:0 a 38×58 rendition keeps colour at 19×29, which smears small type and flat
    // palette colours (chroma SSIM 0.90 against 0.97); it costs 1.2× the coverstore's bytes, about 2 KB.
    upTo: 100,
    settings: {
      shrinkOnLoad: true,
      sharpenSigma: 0,
      jpeg: { quality: 90, chromaSubsampling: '4:4:4', trellisQuantisation: true, overshootDeringing: true },
      webp: { quality: 90, effort: 4 },
      avif: { quality: 70, effort: 3 },
    },
  },
  {
    // M, the Cover Art Archive's 250 and the keyed medium size. Gentle shrink-on-load (leaving Lanczos at least 2×)
    // lifts M's SSIM from 0.969 to 0.975 at the same bytes. AVIF: effort 0–2 did not reach the coverstore's SSIM at
    // 0.6× its bytes; effort 3 does, at about a third of effort 4's time.
    upTo: 400,
    settings: {
      ...FROM_M_UP,
      webp: { quality: 90, effort: 4 },
      avif: { quality: 74, effort: 3, chromaSubsampling: '4:2:0' },
    },
  },
  {
    // L, the Cover Art Archive's 500 and the keyed large size: as M, but AVIF in 10 bits, which reaches the
    // coverstore's SSIM at 0.58× its bytes where 8 bits needed 0.60× (and 10 bits at M, 0.61×).
    upTo: 500,
    settings: {
      ...FROM_M_UP,
      webp: { quality: 90, effort: 4 },
      avif: { quality: 74, effort: 3, chromaSubsampling: '4:2:0', bitdepth: 10 },
    },
  },
  {
    // The Cover Art Archive's 1200: WebP a step up; AVIF at effort 2, since effort 3 on these large renditions costs
    // about half a second.
    upTo: Infinity,
    settings: {
      ...FROM_M_UP,
      webp: { quality: 92, effort: 4 },
      avif: { quality: 75, effort: 2, chromaSubsampling: '4:2:0' },
    },
  },
];

export function encoderSettings(target: Dimensions): EncoderSettings {
  const longest = Math.max(target.width, target.height);
  return ENCODER_TIERS.find((tier) => longest <= tier.upTo)!.settings;
}
