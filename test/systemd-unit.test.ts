import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { SETTINGS } from '../src/config.ts';
import { REPO_ROOT } from './helpers/process.ts';

// deploy/jacket.service, checked by systemd itself. systemd-analyze comes with Debian's `systemd` package, which
// .ci/run installs: a missing one fails the test rather than skipping it.
const UNIT = path.join(REPO_ROOT, 'deploy/jacket.service');
const INSTALLED_AT = '/opt/jacket';

const dirs: string[] = [];
after(async () => {
  for (const dir of dirs) await fs.rm(dir, { recursive: true, force: true });
});

function analyze(args: string[]) {
  const result = spawnSync('systemd-analyze', args, { encoding: 'utf8' });
  if (result.error) throw new Error(`systemd-analyze cannot run (${result.error.message}): install the Debian package systemd`);
  return result;
}

/**
 * The unit as it is installed, with the checkout it names (/opt/jacket) replaced by this one, so `verify` can check
 * that the command it runs exists and is executable.
 */
async function unitHere(): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'jacket-unit-'));
  dirs.push(dir);
  const file = path.join(dir, 'jacket.service');
  await fs.writeFile(file, (await fs.readFile(UNIT, 'utf8')).replaceAll(INSTALLED_AT, REPO_ROOT));
  return file;
}

/** `Key=value` lines of the unit's [Service] section, in order (a key may repeat). */
async function serviceSection(): Promise<[string, string][]> {
  const text = await fs.readFile(UNIT, 'utf8');
  const section = text.split(/^\[Service\]$/m)[1]!.split(/^\[/m)[0]!;
  return section
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => {
      const at = line.indexOf('=');
      return [line.slice(0, at), line.slice(at + 1)];
    });
}

test('systemd-analyze verify accepts deploy/jacket.service without a warning', async () => {
  const result = analyze(['verify', '--man=no', await unitHere()]);
  assert.equal(result.status, 0, result.stderr);
  assert.equal(result.stderr.trim(), '', 'verify printed warnings');
});

test('the unit runs the server itself as a dedicated user with its data in the state directory and the settings from an optional file', async () => {
  const service = new Map(await serviceSection());
  assert.equal(service.get('ExecStart'), `${INSTALLED_AT}/node_modules/.bin/node ${INSTALLED_AT}/src/main.ts serve`);
  for (const relative of ['node_modules/.bin/node', 'src/main.ts']) await fs.access(path.join(REPO_ROOT, relative));
  assert.equal(service.get('User'), 'jacket');
  assert.equal(service.get('StateDirectory'), 'jacket');
  assert.equal(service.get('Environment'), 'JACKET_DATA_DIR=%S/jacket');
  assert.equal(service.get('EnvironmentFile'), '-/etc/jacket/jacket.env');
  const sysusers = await fs.readFile(path.join(REPO_ROOT, 'deploy/jacket.sysusers'), 'utf8');
  assert.match(sysusers, /^u jacket - /m);
  // Every name the unit sets is a documented setting.
  const documented = new Set(SETTINGS.map((setting) => setting.env));
  for (const [key, value] of await serviceSection()) if (key === 'Environment') assert.ok(documented.has(value.split('=')[0]!), value);
});

test('the unit stops the server with SIGTERM and waits longer than JACKET_SHUTDOWN_TIMEOUT', async () => {
  const service = new Map(await serviceSection());
  assert.equal(service.get('KillSignal'), 'SIGTERM');
  const shutdownTimeout = Number(SETTINGS.find((setting) => setting.env === 'JACKET_SHUTDOWN_TIMEOUT')!.default);
  const stopTimeout = Number(/^(\d+)s?$/.exec(service.get('TimeoutStopSec')!)?.[1]);
  assert.ok(stopTimeout > shutdownTimeout, `TimeoutStopSec=${service.get('TimeoutStopSec')} must exceed ${shutdownTimeout} s`);
});

test('the unit is hardened: systemd-analyze security rates its exposure 2.0 or lower', async () => {
  const service = new Map(await serviceSection());
  for (const [key, value] of [
    ['NoNewPrivileges', 'yes'],
    ['ProtectSystem', 'strict'],
    ['ProtectHome', 'yes'],
    ['PrivateTmp', 'yes'],
  ]) assert.equal(service.get(key!), value, key);
  // V8's JIT writes executable memory: this option would kill the server on start.
  assert.equal(service.has('MemoryDenyWriteExecute'), false);
  const result = analyze(['security', '--offline=true', '--threshold=20', '--no-pager', await unitHere()]);
  assert.equal(result.status, 0, result.stdout.split('\n').slice(-3).join('\n') + result.stderr);
  assert.match(result.stdout, /Overall exposure level for jacket\.service: (0\.\d|1\.\d|2\.0) /);
});
