#!/usr/bin/env node
// The `eventjobs` command (package.json "bin"): the built CLI in dist/.
// In a checkout of the repository, `npm run build` makes it (npm test and npm start do).
import { existsSync } from 'node:fs';

const built = new URL('../dist/bin.js', import.meta.url);
if (!existsSync(built)) {
  process.stderr.write('eventjobs: dist/bin.js is missing; run `npm run build` first\n');
  process.exit(1);
}
await import(built.href);
