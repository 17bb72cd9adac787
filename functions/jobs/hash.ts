import { createHash } from 'node:crypto';
import { defineJobType, yieldToEventLoop } from 'eventjobs';
import * as z from 'zod/mini';

/** One mebibyte: the unit of `megabytes` and the slice hashed between abort checks. */
export const HASH_CHUNK_BYTES = 1024 * 1024;
const PROGRESS_INTERVAL_MS = 1000;

let chunk: Buffer | undefined;

/**
 * The data is `megabytes` copies of one chunk whose byte i is `i mod 256`, so
 * the digest depends only on the input and anyone can recompute it.
 */
export function hashChunk(): Buffer {
  if (!chunk) {
    chunk = Buffer.alloc(HASH_CHUNK_BYTES);
    for (let i = 0; i < HASH_CHUNK_BYTES; i++) chunk[i] = i % 256;
  }
  return chunk;
}

export const hash = defineJobType({
  name: 'hash',
  description: 'CPU work: SHA-256 over `megabytes` (1 to 1024) MiB of deterministic data.',
  input: z.strictObject({ megabytes: z.int().check(z.gte(1), z.lte(1024)) }),
  async run({ megabytes }, ctx) {
    const data = hashChunk();
    const digest = createHash('sha256');
    let reportedAt = Date.now();
    for (let done = 0; done < megabytes; done++) {
      ctx.signal.throwIfAborted();
      digest.update(data);
      if (done + 1 < megabytes && Date.now() - reportedAt >= PROGRESS_INTERVAL_MS) {
        reportedAt = Date.now();
        await ctx.progress(
          ((done + 1) / megabytes) * 100,
          `Hashed ${done + 1} of ${megabytes} MiB`,
        );
      } else {
        // Without a pause the event loop never turns, and a deadline timer could not fire.
        await yieldToEventLoop();
      }
    }
    ctx.signal.throwIfAborted();
    return { megabytes, sha256: digest.digest('hex') };
  },
});
