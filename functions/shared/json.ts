import { createHash } from 'node:crypto';

/**
 * JSON with object keys sorted at every depth, so equal values give equal text
 * and different values different text. The sorted copies have no prototype:
 * on an ordinary object, assigning a `__proto__` key (which `JSON.parse` makes
 * an own property) would set the prototype instead, and the key would vanish
 * from the text.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      const sorted: Record<string, unknown> = Object.create(null);
      for (const k of Object.keys(v).sort()) sorted[k] = (v as Record<string, unknown>)[k];
      return sorted;
    }
    return v;
  });
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

export function utf8Length(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/**
 * How deeply objects and arrays may nest in a JSON value a caller sends (a job
 * input, a signal payload): serializing, hashing and validating all recurse.
 */
export const MAX_JSON_DEPTH = 64;

/** Whether `value` holds a number that is not finite; walks without recursing (after the depth check). */
export function hasNonFiniteNumber(value: unknown): boolean {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const next = stack.pop();
    if (typeof next === 'number' && !Number.isFinite(next)) return true;
    if (typeof next === 'object' && next !== null)
      for (const child of Object.values(next)) stack.push(child);
  }
  return false;
}

/** Whether objects and arrays nest more than `maxDepth` levels in `value`; walks without recursing. */
export function nestingExceeds(value: unknown, maxDepth: number): boolean {
  const stack: Array<{ readonly value: unknown; readonly depth: number }> = [{ value, depth: 0 }];
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    if (typeof next.value !== 'object' || next.value === null) continue;
    const depth = next.depth + 1;
    if (depth > maxDepth) return true;
    for (const child of Object.values(next.value)) stack.push({ value: child, depth });
  }
  return false;
}
