import type { IncomingMessage } from 'node:http';

/**
 * Who may be given an image answer again from memory, without routing (http/hot-responses.ts). The dialect that
 * asked for the answer decides, since it knows what its URL's access depends on:
 * - `anyone`: the answer is the same for every client (a cover by id, an archive file);
 * - `within-ip-limit`: each hit counts against the per-address limit of identifier lookups, in memory; a client with
 *   credentials (a key lifts the limit) and clients behind a trusted proxy go through the routes;
 * - `until`: a keyed URL whose key was checked just now; after that moment the routes check it again.
 * Besides image bytes, a redirect whose target depends on nothing but the URL (and the Host) may be offered.
 */
export type HotRule = ({ kind: 'anyone' } | { kind: 'within-ip-limit' } | { kind: 'until'; until: number }) & {
  /** The answer names this Host (a redirect to an absolute URL made from it): requests for another host take the routes. */
  host?: string;
};

/** The rule of the answer being sent for a request, read by the hot table when the response is complete. */
const offered = new WeakMap<IncomingMessage, HotRule>();
/** The cover an offered answer is of, so that hits answered from memory are counted for it (src/usage.ts). */
const offeredCovers = new WeakMap<IncomingMessage, number>();

export function offerForMemory(request: IncomingMessage, rule: HotRule, coverId?: number): void {
  offered.set(request, rule);
  if (coverId !== undefined) offeredCovers.set(request, coverId);
}

export function offeredRule(request: IncomingMessage): HotRule | undefined {
  return offered.get(request);
}

export function offeredCover(request: IncomingMessage): number | undefined {
  return offeredCovers.get(request);
}

export const ANYONE: HotRule = { kind: 'anyone' };
export const WITHIN_IP_LIMIT: HotRule = { kind: 'within-ip-limit' };

/**
 * How long a keyed URL may be answered from memory after its key was checked. A revocation through this server (or
 * any instance sharing its Redis) empties the table at once; this bounds how long a key revoked by a command run
 * beside an embedded server keeps working.
 */
export const KEY_RECHECK_MS = 10_000;
