import type { Command } from 'commander';
import { openCatalogue } from '../catalogue/db.ts';
import { describeKey, keyDefaults, KeyService, validateNewKey, type KeyDefaults } from '../catalogue/keys.ts';
import { loadConfig } from '../config.ts';
import { JacketError } from '../errors.ts';

/**
 * Runs `work` against the same catalogue the server uses (same settings: PostgreSQL when DATABASE_URL is set, else
 * the data folder's SQLite file, which WAL mode lets this share with a running server). The server reads keys from
 * the database on every request, so a key made or revoked here takes effect at once.
 */
async function withKeys<T>(work: (keys: KeyService, defaults: KeyDefaults) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const db = await openCatalogue(config);
  try {
    return await work(new KeyService(db), keyDefaults(config));
  } finally {
    await db.destroy();
  }
}

function fail(error: unknown): never {
  if (error instanceof JacketError) {
    process.stderr.write(`jacket keys: ${error.message}\n`);
    process.exit(1);
  }
  throw error;
}

export function registerKeys(program: Command): void {
  const keys = program.command('keys').description('create, list and revoke developer keys');

  keys
    .command('create')
    .description('create a developer key and print its secret (shown only this once)')
    .requiredOption('--name <name>', 'who the key is for')
    .option('--contact <contact>', 'e-mail address or URL of the key holder')
    .option('--daily-limit <n>', 'renditions made per UTC day (default: JACKET_DEVKEY_DAILY_LIMIT)')
    .option('--rate-limit <rate>', 'request rate such as 1/1s, or off (default: JACKET_DEVKEY_RATE_LIMIT)')
    .option('--permission <permission...>', 'extra permissions: upload')
    .option('--json', 'print JSON')
    .action(async (options: { name: string; contact?: string; dailyLimit?: string; rateLimit?: string; permission?: string[]; json?: boolean }) => {
      try {
        const input = validateNewKey({
          name: options.name,
          contact: options.contact,
          dailyLimit: options.dailyLimit,
          rateLimit: options.rateLimit,
          permissions: options.permission,
        });
        await withKeys(async (service, defaults) => {
          const { secret, key } = await service.create(input);
          const described = describeKey(key, defaults);
          if (options.json) {
            process.stdout.write(`${JSON.stringify({ key: secret, ...described })}\n`);
          } else {
            process.stdout.write(
              `Created ${key.id} for ${key.name} (daily limit ${described.dailyLimit}, rate ${described.rateLimit}, permissions ${key.permissions.join(',') || 'none'}).\n` +
                `Secret (shown only this once; Jacket keeps only its hash):\n\n    ${secret}\n\n`,
            );
          }
        });
      } catch (error) {
        fail(error);
      }
    });

  keys
    .command('list')
    .description('list developer keys (never their secrets)')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      await withKeys(async (service, defaults) => {
        const list = (await service.list()).map((key) => describeKey(key, defaults));
        if (options.json) {
          process.stdout.write(`${JSON.stringify({ keys: list })}\n`);
          return;
        }
        if (list.length === 0) {
          process.stdout.write('No developer keys.\n');
          return;
        }
        for (const key of list) {
          process.stdout.write(
            `${key.id}\t${key.revoked ? `revoked ${key.revokedAt}` : 'active'}\tlimit ${key.dailyLimit}/day\trate ${key.rateLimit}\t${key.permissions.join(',') || '-'}\t${key.name}${key.contact ? ` <${key.contact}>` : ''}\n`,
          );
        }
      });
    });

  keys
    .command('revoke')
    .description('revoke a developer key, named by its id (k_…) or its secret')
    .argument('<key>', 'key id or secret')
    .action(async (idOrSecret: string) => {
      await withKeys(async (service) => {
        const key = await service.revoke(idOrSecret);
        if (!key) fail(new JacketError(404, 'not_found', 'There is no such developer key (give its id or its secret).'));
        process.stdout.write(`Revoked ${key.id} (${key.name}).\n`);
      });
    });
}
