#!/usr/bin/env node
// The `eventjobs` command (package.json "bin"): runs cli/main.ts through tsx,
// from any working directory. See cli/README.md.
import { fileURLToPath } from 'node:url';
import { register } from 'tsx/esm/api';

register({ tsconfig: fileURLToPath(new URL('../tsconfig.json', import.meta.url)) });
const { main, processDeps } = await import('../cli/main.ts');
process.exitCode = await main(process.argv.slice(2), processDeps());
