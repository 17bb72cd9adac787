/**
 * PutEvents validation as AWS does it: request-level limits (1 to 10 entries,
 * total size) refuse the whole call with a `ValidationException`; everything
 * about one entry fails only that entry, in its slot of the response.
 *
 * Messages are AWS's own text where it could be found (AWS docs, AWS output
 * quoted in issues, and the AWS-validated suites of LocalStack and moto):
 * - `Parameter Source is not valid. Reason: Source is a required argument.`
 *   (and the same for DetailType and Detail), code `InvalidArgument`;
 * - `Detail is malformed.`, code `MalformedDetail` (Detail that is not a JSON object);
 * - `Not authorized for the source.`, code `NotAuthorizedForSourceException`
 *   (a Source starting with `aws.`);
 * - `Total size of the entries in the request is over the limit.`, request-level.
 *   The limit applies to the sum of the entries' sizes (measured on AWS: a
 *   batch of three 300 KB entries passes the 1 MB limit, one entry of exactly
 *   the limit passes and one byte more fails).
 */
import type { PutEventsEntry, PutEventsResultEntry } from '../contracts';
import { EventBridgeError, ValidationError } from './errors';

/** AWS's entry-size limit until January 2026 (now 1 MB on AWS); the local cloud's default. */
export const DEFAULT_MAX_ENTRY_BYTES = 256 * 1024;
export const MAX_ENTRIES = 10;

/**
 * The size AWS charges an entry against the limit ("Calculating PutEvents
 * event entry size"): 14 bytes if Time is given, plus Source, DetailType,
 * Detail and each Resources item in UTF-8 bytes.
 */
export function entrySize(entry: PutEventsEntry): number {
  let size = entry.Time === undefined ? 0 : 14;
  size += Buffer.byteLength(entry.Source ?? '', 'utf8');
  size += Buffer.byteLength(entry.DetailType ?? '', 'utf8');
  size += Buffer.byteLength(entry.Detail ?? '', 'utf8');
  for (const resource of entry.Resources ?? []) size += Buffer.byteLength(resource, 'utf8');
  return size;
}

/** How the service prints an entry inside a validation message (Java's `toString`, approximately). */
function describeEntry(entry: PutEventsEntry): string {
  const text = (v: unknown) => (v === undefined || v === null ? 'null' : String(v));
  const time = entry.Time instanceof Date ? entry.Time.toISOString() : text(entry.Time);
  const resources = entry.Resources === undefined ? 'null' : `[${entry.Resources.join(', ')}]`;
  return (
    `PutEventsRequestEntry(time=${time}, source=${text(entry.Source)}, ` +
    `resources=${resources}, detailType=${text(entry.DetailType)}, ` +
    `detail=${text(entry.Detail)}, eventBusName=${text(entry.EventBusName)}, ` +
    `traceHeader=${text(entry.TraceHeader)}, kmsKeyIdentifier=null, internalMetadata=null)`
  );
}

/**
 * Refuses a request AWS refuses as a whole: wrong entry count, a Time that is
 * not a timestamp, or a total size over the limit.
 */
export function checkRequest(entries: readonly PutEventsEntry[], maxBytes: number): void {
  if (entries.length < 1) {
    throw new ValidationError(
      "1 validation error detected: Value '[]' at 'entries' failed to satisfy constraint: " +
        'Member must have length greater than or equal to 1',
    );
  }
  if (entries.length > MAX_ENTRIES) {
    throw new ValidationError(
      `1 validation error detected: Value '[${entries.map(describeEntry).join(', ')}]' ` +
        "at 'entries' failed to satisfy constraint: " +
        `Member must have length less than or equal to ${MAX_ENTRIES}`,
    );
  }
  // A Time that is not a timestamp fails the request's deserialization, not one entry.
  for (const entry of entries) entryTimeMs(entry.Time);
  const total = entries.reduce((sum, entry) => sum + entrySize(entry), 0);
  if (total > maxBytes) {
    throw new ValidationError('Total size of the entries in the request is over the limit.');
  }
}

/** `Time` in milliseconds: a Date, epoch seconds (how the SDK serializes a Date), or RFC 3339 text. */
export function entryTimeMs(time: PutEventsEntry['Time']): number | undefined {
  if (time === undefined) return undefined;
  let ms: number;
  if (time instanceof Date) ms = time.getTime();
  else if (typeof time === 'number') ms = time * 1000;
  else if (/^-?\d+(\.\d+)?$/.test(time)) ms = Number(time) * 1000;
  else ms = Date.parse(time);
  if (!Number.isFinite(ms)) {
    throw new EventBridgeError(
      'SerializationException',
      `Time ${String(time)} is not a timestamp.`,
    );
  }
  return ms;
}

/** An event's `time`: `YYYY-MM-DDTHH:MM:SSZ`, seconds truncated. */
export function formatEventTime(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

export interface AcceptedEntry {
  readonly source: string;
  readonly detailType: string;
  readonly detail: Record<string, unknown>;
  readonly resources: readonly string[];
  /** Event time in ms: the entry's Time, or when it was received. */
  readonly timeMs: number;
}

export type EntryCheck =
  | { readonly ok: true; readonly entry: AcceptedEntry }
  | { readonly ok: false; readonly result: Required<Omit<PutEventsResultEntry, 'EventId'>> };

function fail(code: string, message: string): EntryCheck {
  return { ok: false, result: { ErrorCode: code, ErrorMessage: message } };
}

function required(name: string): EntryCheck {
  return fail(
    'InvalidArgument',
    `Parameter ${name} is not valid. Reason: ${name} is a required argument.`,
  );
}

/** Checks one entry; `nowMs` stands in for a missing Time. */
export function checkEntry(entry: PutEventsEntry, nowMs: number): EntryCheck {
  if (!entry.Source) return required('Source');
  if (!entry.DetailType) return required('DetailType');
  if (!entry.Detail) return required('Detail');
  let detail: unknown;
  try {
    detail = JSON.parse(entry.Detail);
  } catch {
    return fail('MalformedDetail', 'Detail is malformed.');
  }
  if (typeof detail !== 'object' || detail === null || Array.isArray(detail)) {
    return fail('MalformedDetail', 'Detail is malformed.');
  }
  if (entry.Source.startsWith('aws.')) {
    return fail('NotAuthorizedForSourceException', 'Not authorized for the source.');
  }
  return {
    ok: true,
    entry: {
      source: entry.Source,
      detailType: entry.DetailType,
      detail: detail as Record<string, unknown>,
      resources: [...(entry.Resources ?? [])],
      timeMs: entryTimeMs(entry.Time) ?? nowMs,
    },
  };
}
