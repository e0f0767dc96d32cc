import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

// No module of the server or the web UI may import, through any chain of static imports, a module that imports it:
// such a circle means one of them cannot be read (or loaded) without the other, whatever order they happen to run.
const SRC = path.resolve(import.meta.dirname, '..', 'src');

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sources(full);
    return /\.(ts|js)$/.test(entry.name) ? [full] : [];
  });
}

/** The relative modules a file imports statically (`import … from './x'`, `export … from './x'`, `import './x'`). */
function importsOf(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  const found: string[] = [];
  for (const match of text.matchAll(/^\s*(?:import|export)\s(?:[^'"`;]*?\sfrom\s)?['"](\.{1,2}\/[^'"]+)['"]/gm)) {
    found.push(path.resolve(path.dirname(file), match[1]!));
  }
  return found;
}

test('the sources have no import circle', () => {
  const files = sources(SRC);
  const graph = new Map(files.map((file) => [file, importsOf(file).filter((target) => fs.existsSync(target))]));
  assert.ok(graph.size > 50, 'the source tree was read');
  assert.ok([...graph.values()].some((targets) => targets.length > 0), 'imports were found');
  const circles: string[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const trail: string[] = [];
  const visit = (file: string) => {
    state.set(file, 'open');
    trail.push(file);
    for (const target of graph.get(file) ?? []) {
      if (state.get(target) === 'open') circles.push([...trail.slice(trail.indexOf(target)), target].map((item) => path.relative(SRC, item)).join(' → '));
      else if (!state.has(target)) visit(target);
    }
    trail.pop();
    state.set(file, 'done');
  };
  for (const file of files) if (!state.has(file)) visit(file);
  assert.deepEqual(circles, []);
});
