/**
 * The page's three files: `index.html`, `style.css` and `app.js` (the page's
 * TypeScript in `page/`, bundled and minified by esbuild; no framework, no
 * library). The built package carries them in `dist/dashboard/`
 * (scripts/build.mjs); from the sources they are bundled once, at start.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface PageAsset {
  readonly contentType: string;
  readonly body: Buffer;
}

export interface PageAssets {
  /** The asset served at a path (`/`, `/app.js`, `/style.css`). */
  get(path: string): PageAsset | undefined;
}

/** How the page's script is bundled; scripts/build.mjs uses the same. */
export const PAGE_BUILD = {
  bundle: true,
  minify: true,
  format: 'iife',
  target: 'es2022',
  legalComments: 'none',
} as const;

let loaded: Promise<PageAssets> | undefined;

/** The assets, read (or bundled) once per process. */
export function pageAssets(): Promise<PageAssets> {
  loaded ??= loadAssets();
  return loaded;
}

async function loadAssets(): Promise<PageAssets> {
  // Built: dist/dashboard/ beside the chunk this code is in. Sources: dashboard/page/.
  const built = new URL('./dashboard/', import.meta.url);
  const sources = new URL('./page/', import.meta.url);
  const fromDist = existsSync(new URL('app.js', built));
  const dir = fromDist ? built : sources;
  const script = fromDist ? readFileSync(new URL('app.js', built)) : await bundle(sources);
  const files: Record<string, PageAsset> = {
    '/': {
      contentType: 'text/html; charset=utf-8',
      body: readFileSync(new URL('index.html', dir)),
    },
    '/style.css': {
      contentType: 'text/css; charset=utf-8',
      body: readFileSync(new URL('style.css', dir)),
    },
    '/app.js': { contentType: 'text/javascript; charset=utf-8', body: script },
  };
  return { get: (path) => files[path] };
}

async function bundle(sources: URL): Promise<Buffer> {
  const { build } = await import('esbuild');
  const result = await build({
    ...PAGE_BUILD,
    entryPoints: [fileURLToPath(new URL('main.ts', sources))],
    write: false,
    logLevel: 'silent',
  });
  const output = result.outputFiles[0];
  if (!output) throw new Error('esbuild wrote no page script');
  return Buffer.from(output.contents);
}
