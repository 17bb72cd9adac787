import { randomBytes } from 'node:crypto';

// Crockford's base32: the alphabet ULIDs use, so that ids sort by creation time.
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/**
 * A ULID: 48 bits of milliseconds then 80 random bits, 26 characters of
 * `[0-9A-Z]`. Lexical order is time order (to the millisecond), which is what
 * generated job names and run ids need.
 */
export function ulid(now: number = Date.now()): string {
  let time = '';
  let t = now;
  for (let i = 0; i < 10; i++) {
    time = ALPHABET.charAt(t % 32) + time;
    t = Math.floor(t / 32);
  }
  const bytes = randomBytes(16);
  let random = '';
  for (let i = 0; i < 16; i++) {
    random += ALPHABET.charAt((bytes[i] ?? 0) % 32);
  }
  return time + random;
}
