#!/usr/bin/env node
// Runs the TypeScript sources directly: Node 24 strips types natively (the `node` devDependency provides Node 24
// to npm scripts and npx).
import '../src/main.ts';
