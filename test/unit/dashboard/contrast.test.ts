/**
 * The page's text colours against the backgrounds they are drawn on meet WCAG
 * 2's AA contrast for normal text (4.5:1), read from the shipped stylesheet.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const CSS = readFileSync(join(import.meta.dirname, '../../../dashboard/page/style.css'), 'utf8');
const AA_NORMAL_TEXT = 4.5;

function variables(css: string): Map<string, string> {
  const root = /:root\s*{([^}]*)}/.exec(css)?.[1] ?? '';
  return new Map(
    [...root.matchAll(/--([\w-]+):\s*(#[0-9a-fA-F]{6})\s*;/g)].map((m) => [
      m[1] as string,
      m[2] as string,
    ]),
  );
}

/** WCAG 2 relative luminance of a #rrggbb colour. */
function luminance(hex: string): number {
  const channel = (i: number) => {
    const c = Number.parseInt(hex.slice(1 + 2 * i, 3 + 2 * i), 16) / 255;
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * channel(0) + 0.7152 * channel(1) + 0.0722 * channel(2);
}

function contrast(a: string, b: string): number {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x) as [number, number];
  return (hi + 0.05) / (lo + 0.05);
}

describe('the dashboard stylesheet', () => {
  const colour = variables(CSS);
  const pairs: [text: string, background: string][] = [
    ['fg', 'bg'],
    ['fg', 'panel'],
    ['muted', 'bg'],
    ['muted', 'panel'],
    ['accent', 'bg'],
    ['accent', 'panel'],
    ['ok', 'ok-bg'],
    ['bad', 'bad-bg'],
    ['bad', 'bg'],
    ['warn', 'warn-bg'],
    ['run', 'run-bg'],
    ['idle', 'idle-bg'],
  ];

  it.each(pairs)('draws --%s on --%s at 4.5:1 or more', (text, background) => {
    // Prepare
    const fg = colour.get(text);
    const bg = colour.get(background);
    expect(fg, `--${text} in :root`).toBeDefined();
    expect(bg, `--${background} in :root`).toBeDefined();

    // Act
    const ratio = contrast(fg as string, bg as string);

    // Assess
    expect(ratio).toBeGreaterThanOrEqual(AA_NORMAL_TEXT);
  });

  it('draws the white text of a primary button on --accent at 4.5:1 or more', () => {
    expect(contrast('#ffffff', colour.get('accent') as string)).toBeGreaterThanOrEqual(
      AA_NORMAL_TEXT,
    );
  });
});
