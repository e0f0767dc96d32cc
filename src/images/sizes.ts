/** Target dimensions for every named size of every dialect. Pure arithmetic, heavily tested. */

export interface Dimensions {
  width: number;
  height: number;
}

/**
 * Open Library's two-step integer fit into a (W, H) box: first the width, then the height. Shrinks only. This is
 * not the same as one rounded scale factor (1200×1920 into 500×500 gives 312×500, not 313×500).
 */
export function fitOpenLibrary(width: number, height: number, boxWidth: number, boxHeight: number): Dimensions {
  let w = width;
  let h = height;
  if (w > boxWidth) {
    h = Math.max(Math.floor((h * boxWidth) / w), 1);
    w = boxWidth;
  }
  if (h > boxHeight) {
    w = Math.max(Math.floor((w * boxHeight) / h), 1);
    h = boxHeight;
  }
  return { width: w, height: h };
}

/** Longest side at most `longest` pixels, never enlarged; the other side rounded, at least 1. */
export function fitLongestSide(width: number, height: number, longest: number): Dimensions {
  if (width <= longest && height <= longest) return { width, height };
  if (width >= height) return { width: longest, height: Math.max(1, Math.round((height * longest) / width)) };
  return { width: Math.max(1, Math.round((width * longest) / height)), height: longest };
}

export const OPEN_LIBRARY_SIZES = { S: [116, 58], M: [180, 360], L: [500, 500] } as const;
export type OpenLibrarySize = keyof typeof OPEN_LIBRARY_SIZES;

export function openLibrarySize(width: number, height: number, size: OpenLibrarySize): Dimensions {
  const [boxWidth, boxHeight] = OPEN_LIBRARY_SIZES[size];
  return fitOpenLibrary(width, height, boxWidth, boxHeight);
}

/** Cover Art Archive thumbnails: longest side 250, 500 or 1200. */
export const CAA_THUMBNAIL_SIZES = [250, 500, 1200] as const;
/** LibraryThing-style keyed sizes (Amazon's thumbnail, medium and large boxes). */
export const KEYED_SIZES = { small: 75, medium: 160, large: 500 } as const;
