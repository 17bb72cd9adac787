/**
 * The limits of `POST /jobs/batch`, in a module of their own that imports
 * nothing: the client and the CLI split their batches by them without loading
 * the function's code (its job types, its SDK clients).
 */

/** Entries in one batch at most, as SQS's SendMessageBatch allows ten. */
export const MAX_BATCH_ENTRIES = 100;

/**
 * The largest batch body, in bytes. API Gateway takes 10 MB, but it hands the
 * body to the function inside the event's JSON, as a string, where escaping
 * may double it (every `"` becomes `\"`), and Lambda refuses a synchronous
 * request over 6 MB with a bare 500 that the function never sees. Half of
 * 6 MB, less room for the event's headers and context, always fits.
 * 100 inputs of the default 64 KiB do not: a client splits by bytes as well as
 * by count (AWS-FACTS: HTTP API payload, Lambda invocation payload).
 */
export const MAX_BATCH_BODY_BYTES = 3_000_000;

/** An entry's id in its batch, by SQS's rule: 1 to 80 characters of A-Z a-z 0-9 - _. */
export const BATCH_ENTRY_ID_PATTERN = /^[A-Za-z0-9_-]{1,80}$/;

export function isBatchEntryId(value: unknown): value is string {
  return typeof value === 'string' && BATCH_ENTRY_ID_PATTERN.test(value);
}
