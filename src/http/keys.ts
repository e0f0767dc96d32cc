import type { FastifyInstance } from 'fastify';
import type { Services } from '../services.ts';
import { CONTACT_MAX, describeKey, keyDefaults, NAME_MAX, validateNewKey } from '../catalogue/keys.ts';
import { requirePermission } from '../auth.ts';
import { JacketError } from '../errors.ts';
import { clientIp, liveLimitStore, rateLimitedError } from '../limits/public.ts';
import { DailyQuota, RateLimiter } from '../limits/rate.ts';

const CONTACT_MIN = 3;

function bodyObject(body: unknown): Record<string, unknown> {
  if (body === undefined || body === null || body === '') return {};
  if (typeof body !== 'object' || Array.isArray(body)) throw new JacketError(400, 'invalid_body', 'The body must be a JSON object.');
  return body as Record<string, unknown>;
}

/** The developer-key API: administration (`/api/v1/keys`) and self-service sign-up (`/api/v1/keys/signup`). */
export async function keysApiRoutes(app: FastifyInstance, services: Services): Promise<void> {
  const { keys, auth, config } = services;
  const store = liveLimitStore(() => services.limits);
  const quota = new DailyQuota(store);
  const defaults = keyDefaults(config);
  const signupLimiter = config.keySignupRateLimit ? new RateLimiter('signup', config.keySignupRateLimit, store) : undefined;

  // Administration: a route group of its own, every route for the administrator.
  await app.register(async (admin) => {
    requirePermission(admin, auth, 'admin');

    admin.post('/api/v1/keys', async (request, reply) => {
      const input = validateNewKey(bodyObject(request.body));
      const { secret, key } = await keys.create(input);
      request.log.info({ keyId: key.id }, 'developer key created');
      return reply.code(201).send({ key: secret, ...describeKey(key, defaults), usageUrl: `/devkey/${secret}/usage` });
    });

    admin.get('/api/v1/keys', async (request, reply) => {
      const list = await keys.list();
      const described = await Promise.all(
        list.map(async (key) => ({ ...describeKey(key, defaults), countedToday: (await quota.usage(key.id, key.dailyLimit ?? defaults.dailyLimit)).counted })),
      );
      return reply.header('cache-control', 'no-store').send({ keys: described });
    });

    admin.delete<{ Params: { key: string } }>('/api/v1/keys/:key', async (request, reply) => {
      const key = await keys.revoke(request.params.key);
      if (!key) throw new JacketError(404, 'not_found', 'There is no such developer key (give its id or its secret).');
      request.log.info({ keyId: key.id }, 'developer key revoked');
      return reply.send(describeKey(key, defaults));
    });
  });

  app.post('/api/v1/keys/signup', async (request, reply) => {
    if (!config.keySignup) {
      throw new JacketError(403, 'signup_disabled', 'Self-service developer keys are turned off on this server; ask its operator for a key.');
    }
    const body = bodyObject(request.body);
    const name = typeof body.name === 'string' ? body.name.trim() : '';
    const contact = typeof body.contact === 'string' ? body.contact.trim() : '';
    if (name.length < 1 || name.length > NAME_MAX) throw new JacketError(400, 'invalid_name', `name must be 1 to ${NAME_MAX} characters.`);
    if (contact.length < CONTACT_MIN || contact.length > CONTACT_MAX) {
      throw new JacketError(400, 'invalid_contact', `contact (an e-mail address or URL) must be ${CONTACT_MIN} to ${CONTACT_MAX} characters.`);
    }
    if (signupLimiter) {
      const decision = await signupLimiter.hit(clientIp(request));
      if (!decision.allowed) throw rateLimitedError(429, decision, 'key sign-ups');
    }
    // Self-service keys get the server defaults and may only fetch covers.
    const { secret, key } = await keys.create(validateNewKey({ name, contact }));
    request.log.info({ keyId: key.id }, 'developer key signed up');
    return reply.code(201).send({
      key: secret,
      id: key.id,
      name: key.name,
      dailyLimit: defaults.dailyLimit,
      rateLimit: defaults.rateLimit,
      usageUrl: `/devkey/${secret}/usage`,
    });
  });
}
