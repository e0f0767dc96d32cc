// Native addons (better-sqlite3) must match the Node that runs Jacket: the `node` devDependency (Node 24),
// not whatever Node npm itself runs on. When npm built the addon against other headers (for instance a
// machine-wide `nodedir` pointing at an older Node), rebuild it against the headers that ship inside the
// Node 24 package, which needs no network.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const bin = path.join(root, 'node_modules', '.bin');
let node24 = path.join(bin, 'node');
const env = { ...process.env, PATH: `${bin}${path.delimiter}${process.env.PATH}` };

// `npm ci --omit=dev` (a production install, as in the container image) leaves the `node` devDependency out: then
// the Node running npm must itself be Node 24, and it is the one the addons must load in.
const omitDev = (process.env.npm_config_omit ?? '').split(/[\s,]+/).includes('dev');
if (!existsSync(node24) && omitDev) {
  if (process.versions.node.split('.')[0] !== '24') {
    console.error(`postinstall: without the \`node\` devDependency (--omit=dev) Jacket runs on the Node that runs npm, which is ${process.version}, not Node 24`);
    process.exit(1);
  }
  node24 = process.execPath;
}

function loads() {
  const r = spawnSync(node24, ['-e', "new (require('better-sqlite3'))(':memory:').close()"], { cwd: root, env, encoding: 'utf8' });
  return r.status === 0;
}

if (!existsSync(node24)) {
  console.error('postinstall: node_modules/.bin/node is missing; the `node` devDependency did not install');
  process.exit(1);
}
if (loads()) process.exit(0);

// npm installs the platform package with --no-save, so a later npm command may prune it: fetch its
// tarball from the npm registry again when its headers are gone.
function findHeaders() {
  const pkg = `node-${process.platform}-${process.arch}`;
  const version = execFileSync(node24, ['-p', 'process.versions.node'], { encoding: 'utf8' }).trim();
  const cached = path.join(root, 'node_modules', '.cache', 'node-headers', version);
  const candidates = [
    // A Node installed with its headers (the official images: /usr/local/bin/node and /usr/local/include/node).
    path.resolve(path.dirname(node24), '..'),
    path.join(root, 'node_modules', 'node', 'node_modules', pkg),
    path.join(root, 'node_modules', pkg),
    cached,
  ];
  const found = candidates.find((dir) => existsSync(path.join(dir, 'include', 'node', 'common.gypi')));
  if (found) return found;
  mkdirSync(cached, { recursive: true });
  const tarball = execFileSync('npm', ['pack', `${pkg}@${version}`, '--silent', '--pack-destination', cached], { cwd: cached, encoding: 'utf8', env })
    .trim().split('\n').pop();
  execFileSync('tar', ['-xzf', path.join(cached, tarball), '--strip-components=1', '-C', cached, 'package/include']);
  rmSync(path.join(cached, tarball));
  return cached;
}
const headersRoot = findHeaders();
console.log(`postinstall: rebuilding better-sqlite3 against ${headersRoot}`);
execFileSync('npm', ['rebuild', 'better-sqlite3', '--foreground-scripts'], {
  cwd: root,
  stdio: 'inherit',
  env: { ...env, npm_config_nodedir: headersRoot, npm_config_build_from_source: 'true' },
});
if (!loads()) {
  console.error('postinstall: better-sqlite3 still does not load under Node 24');
  process.exit(1);
}
