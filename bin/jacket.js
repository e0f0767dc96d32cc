#!/usr/bin/env node
// Runs the TypeScript sources directly: Node 24 strips types natively (the `node` devDependency provides Node 24
// to npm scripts and npx).
// Bulk import/export keep many small file operations in flight, and libuv's default pool of 4 threads is their
// bottleneck. The pool size is read once, when the pool starts, so it must be set before anything is loaded.
if (['import', 'export'].includes(process.argv[2] ?? '')) process.env.UV_THREADPOOL_SIZE ??= '16';
await import('../src/main.ts');
