import type { Config } from './config.ts';
import { payloadTooLarge, type JacketError } from './errors.ts';

/**
 * The limits every image entering Jacket is held to, whichever way it arrives: an upload (Open Library's forms, the
 * native API, the Cover Art Archive write API), a `source_url` download, the mirror, a bulk import. Held in one place
 * so that no way in is more lenient than another.
 */
export interface IntakePolicy {
  /** The largest original, in bytes (JACKET_MAX_UPLOAD_BYTES). */
  readonly maxImageBytes: number;
  /** The largest image, in pixels (JACKET_MAX_PIXELS), checked from its header before anything decodes it. */
  readonly maxPixels: number;
  /** The largest request body: an image and the rest of its form, a megabyte more. */
  readonly maxBodyBytes: number;
  /** The refusal of an image of `bytes` bytes, over the limit. */
  tooLarge(bytes: number): JacketError;
}

/** What a form may carry besides its image. */
const FORM_SLACK_BYTES = 1024 * 1024;

export function intakePolicy(config: Pick<Config, 'maxUploadBytes' | 'maxPixels'>): IntakePolicy {
  return {
    maxImageBytes: config.maxUploadBytes,
    maxPixels: config.maxPixels,
    maxBodyBytes: config.maxUploadBytes + FORM_SLACK_BYTES,
    tooLarge: (bytes) => payloadTooLarge(`The image is ${bytes} bytes; the limit is ${config.maxUploadBytes}.`),
  };
}
