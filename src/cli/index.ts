import { Command } from 'commander';
import { registerServe } from './serve.ts';
import { registerCoverArtArchive } from './coverartarchive.ts';
import { registerKeys } from './keys.ts';
import { registerMigrateStorage } from './migrate-storage.ts';
import { registerFsck } from './fsck.ts';
import { registerBackup } from './backup.ts';
import { registerBulk } from './bulk.ts';
import { registerAdminToken } from './admin-token.ts';

/** The `jacket` command. Each subcommand lives in its own file under src/cli/ and registers itself here. */
export function buildCli(): Command {
  const program = new Command();
  program.name('jacket').description('Jacket, a self-hosted cover-art server').showHelpAfterError();
  registerServe(program);
  registerCoverArtArchive(program);
  registerKeys(program);
  registerMigrateStorage(program);
  registerFsck(program);
  registerBackup(program);
  registerBulk(program);
  registerAdminToken(program);
  return program;
}
