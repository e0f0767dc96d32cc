import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { CoverCatalogue } from './catalogue/covers.ts';
import { forbidden, unauthorized } from './errors.ts';
import type { AuthFailures } from './limits/auth-failures.ts';

export type Permission = 'upload' | 'admin';

export interface Principal {
  kind: 'admin' | 'key';
  /** Key id for developer keys; 'admin' for the administrator. */
  id: string;
  permissions: Permission[];
}

/** Resolves a bearer secret that is not the admin token (developer keys, issue 4). */
export type KeyResolver = (secret: string) => Promise<Principal | undefined>;

export function sha256Hex(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

function sameHash(a: string, b: string): boolean {
  const left = Buffer.from(a, 'hex');
  const right = Buffer.from(b, 'hex');
  return left.length === right.length && timingSafeEqual(left, right);
}

export function bearerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  return match?.[1];
}

/** The administrator credential (stored only as a hash) and, through `keyResolver`, developer keys. */
/** The catalogue setting that holds the administrator token's SHA-256 when it is not given by JACKET_ADMIN_TOKEN. */
const ADMIN_TOKEN_SETTING = 'admin_token_sha256';

/**
 * A new administrator token, of which only the hash is stored: `jacket serve`'s first start and `jacket admin-token
 * reset` hand it out once.
 */
export async function storeNewAdminToken(catalogue: CoverCatalogue): Promise<string> {
  const token = randomBytes(24).toString('base64url');
  await catalogue.putSetting(ADMIN_TOKEN_SETTING, sha256Hex(token));
  return token;
}

export class Auth {
  private adminHash = '';
  /** Set when the token lives in the catalogue (not in the environment): it is read again on every authentication. */
  private storedIn: CoverCatalogue | undefined;
  keyResolver: KeyResolver | undefined;
  /** Wrong credentials per client, limited (the composition root sets it). */
  failures: AuthFailures | undefined;

  /**
   * Use JACKET_ADMIN_TOKEN when set; otherwise the stored hash; otherwise, when `generate` is set (only `jacket
   * serve`, which prints it), generate a token, hand it back once, and keep only its hash. Without it there is simply
   * no administrator yet: other commands do not need one, and must not store the hash of a token nobody saw.
   */
  async init(catalogue: CoverCatalogue, configuredToken: string | undefined, options: { generate?: boolean } = {}): Promise<{ generatedToken?: string }> {
    if (configuredToken) {
      this.adminHash = sha256Hex(configuredToken);
      return {};
    }
    this.storedIn = catalogue;
    const stored = await catalogue.getSetting(ADMIN_TOKEN_SETTING);
    if (stored) {
      this.adminHash = stored;
      return {};
    }
    if (!options.generate) return {};
    const generatedToken = await storeNewAdminToken(catalogue);
    this.adminHash = sha256Hex(generatedToken);
    return { generatedToken };
  }

  isAdminToken(secret: string): boolean {
    return this.adminHash !== '' && sameHash(sha256Hex(secret), this.adminHash);
  }

  async identify(request: FastifyRequest): Promise<Principal | undefined> {
    const secret = bearerToken(request);
    if (!secret) return undefined;
    // `jacket admin-token reset` may have run in another process: the old token must stop working at once.
    if (this.storedIn) this.adminHash = (await this.storedIn.getSetting(ADMIN_TOKEN_SETTING)) ?? '';
    if (this.isAdminToken(secret)) return { kind: 'admin', id: 'admin', permissions: ['admin', 'upload'] };
    return this.keyResolver?.(secret);
  }

  /** The caller, who must hold `permission`: 401 without credentials, 403 with credentials that do not allow it. */
  async require(request: FastifyRequest, permission: Permission): Promise<Principal> {
    const presented = bearerToken(request) !== undefined;
    if (presented) await this.failures?.refuseIfOver(request);
    const principal = await this.identify(request);
    if (!principal) {
      if (presented) await this.failures?.failed(request);
      throw unauthorized();
    }
    if (!principal.permissions.includes(permission) && !principal.permissions.includes('admin')) {
      throw forbidden('permission_denied', `This credential does not allow ${permission}.`);
    }
    return principal;
  }
}

/**
 * Every route of a route group needs `permission`: checked once for the group, before its body is read, so no
 * handler can forget it and no unauthenticated body is parsed.
 */
export function requirePermission(group: FastifyInstance, auth: Auth, permission: Permission): void {
  group.addHook('onRequest', async (request) => {
    await auth.require(request, permission);
  });
}
