/** The one error type: a machine-readable code, an HTTP status and a human sentence. Each dialect renders it. */
export class JacketError extends Error {
  readonly status: number;
  readonly code: string;
  readonly headers: Record<string, string>;

  constructor(status: number, code: string, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.name = 'JacketError';
    this.status = status;
    this.code = code;
    this.headers = headers;
  }
}

export const badRequest = (code: string, message: string) => new JacketError(400, code, message);
export const notFound = (code: string, message: string) => new JacketError(404, code, message);
export const unauthorized = (message = 'This needs Authorization: Bearer <admin token or upload key>.') =>
  new JacketError(401, 'unauthorized', message, { 'www-authenticate': 'Bearer' });
export const forbidden = (code: string, message: string) => new JacketError(403, code, message);
export const payloadTooLarge = (message: string) => new JacketError(413, 'payload_too_large', message);

/** Error codes of the pg driver and Node when the database cannot be reached (down, restarting, refusing). */
const DATABASE_UNREACHABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', '57P01', '57P02', '57P03', '08000', '08003', '08006']);
const DATABASE_UNREACHABLE_MESSAGE = /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/;

/**
 * An outage of ours as the error a client should see: the database unreachable (503, try again shortly) or the disk
 * full (507, nothing was stored). Undefined for every other error, which stays a logged 500.
 */
export function outageError(error: unknown): JacketError | undefined {
  const { code, message } = (error ?? {}) as { code?: string; message?: string };
  if (code === 'ENOSPC' || code === 'EDQUOT' || code === 'SQLITE_FULL') {
    return new JacketError(507, 'storage_full', 'The server has no space left to store this; nothing was stored. Try again once space is freed.');
  }
  if ((code && DATABASE_UNREACHABLE.has(code)) || DATABASE_UNREACHABLE_MESSAGE.test(message ?? '')) {
    return new JacketError(503, 'database_unavailable', 'The catalogue database cannot be reached just now; try again in a few seconds.', { 'retry-after': '5' });
  }
  return undefined;
}
