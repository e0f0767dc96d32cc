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
