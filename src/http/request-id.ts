import { randomBytes } from 'node:crypto';

/** A client's request id is reused only when it is short and made of characters that are safe in logs and headers. */
const SANE_REQUEST_ID = /^[A-Za-z0-9._:\-]{1,128}$/;

/**
 * Generated request ids are UUIDs of version 8 (RFC 9562's vendor-specific layout): 74 random bits drawn once per
 * process, then a 48-bit sequence number, `xxxxxxxx-xxxx-8xxx-yxxx-nnnnnnnnnnnn`. Unique within the process by
 * construction and across processes by the random part, they cost an increment instead of a random draw and a
 * string built from 16 bytes, which measured as several per cent of a hot hit. The id is kept as ASCII bytes,
 * counted up in place, so the hot front copies it into its answer without making a string.
 */
const requestIdBytes = (() => {
  const random = randomBytes(10);
  random[6] = (random[6]! & 0x0f) | 0x80; // version 8
  random[8] = (random[8]! & 0x3f) | 0x80; // RFC 9562 variant
  const hex = random.toString('hex');
  return Buffer.from(`${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-000000000000`, 'latin1');
})();
const HEX_DIGITS = Buffer.from('0123456789abcdef', 'latin1');
/** Where each hex digit's successor is: 0→1 … 9→a … e→f (f carries). */
const NEXT_DIGIT = new Uint8Array(128);
for (let i = 0; i < 15; i++) NEXT_DIGIT[HEX_DIGITS[i]!] = HEX_DIGITS[i + 1]!;
export const REQUEST_ID_LENGTH = requestIdBytes.length;

/** Count the sequence on by one; past ffffffffffff it wraps to zero, 2^48 ids later. */
function advanceRequestId(): void {
  for (let i = REQUEST_ID_LENGTH - 1; i >= REQUEST_ID_LENGTH - 12; i--) {
    const digit = requestIdBytes[i]!;
    if (digit !== 0x66) {
      requestIdBytes[i] = NEXT_DIGIT[digit]!;
      return;
    }
    requestIdBytes[i] = 0x30;
  }
}

/** A new generated request id, written as REQUEST_ID_LENGTH ASCII bytes into `target` at `at`. */
export function writeNewRequestId(target: Buffer, at: number): void {
  advanceRequestId();
  target.set(requestIdBytes, at);
}

/** A new generated request id, as a string. */
export function newRequestId(): string {
  advanceRequestId();
  return requestIdBytes.toString('latin1');
}

/** The offered `X-Request-Id` when it is sane enough to reuse (see SANE_REQUEST_ID), else undefined. */
export function saneRequestId(offered: string | string[] | undefined): string | undefined {
  return typeof offered === 'string' && SANE_REQUEST_ID.test(offered) ? offered : undefined;
}

/** The request id of a request: the client's `X-Request-Id` when sane, else a new one (every answering path uses this). */
export function requestIdFor(offered: string | string[] | undefined): string {
  return saneRequestId(offered) ?? newRequestId();
}
