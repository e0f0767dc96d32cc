import type { Command } from 'commander';
import { storeNewAdminToken } from '../auth.ts';
import { CoverCatalogue } from '../catalogue/covers.ts';
import { openCatalogue } from '../catalogue/db.ts';
import { loadConfig } from '../config.ts';

/**
 * `jacket admin-token reset`: the way back from a lost administrator token. It writes the new token's hash to the
 * catalogue the server uses (a running server reads it on every authentication, so the old token stops working at
 * once) and prints the token this one time.
 */
export function registerAdminToken(program: Command): void {
  const adminToken = program.command('admin-token').description('manage the administrator token');
  adminToken
    .command('reset')
    .description('make a new administrator token, print it once and store only its hash; the old token stops working at once')
    .action(async () => {
      const config = loadConfig();
      if (config.adminToken) {
        process.stderr.write('jacket admin-token: JACKET_ADMIN_TOKEN is set, so the token is that setting: change it where it is set and restart the server.\n');
        process.exit(1);
      }
      const db = await openCatalogue(config);
      try {
        const token = await storeNewAdminToken(new CoverCatalogue(db));
        process.stdout.write(`A new administrator token (shown only this once; the old one no longer works):\n\n  ${token}\n\n`);
      } finally {
        await db.destroy();
      }
    });
}
