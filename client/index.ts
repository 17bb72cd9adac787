/**
 * The eventjobs client: `createClient()` and its typed methods, the errors
 * they throw, and the shapes of jobs and events. See `docs/client.md`.
 *
 * Only what a caller uses is exported here; the CLI, which is built on the
 * same modules, imports the parts it shares from them directly.
 */

export {
  MAX_BATCH_BODY_BYTES,
  MAX_BATCH_ENTRIES,
} from '../functions/start-job/batch-limits';
export {
  type ClientOptions,
  type ClientTarget,
  createClient,
  EventJobsClient,
  type ListAllQuery,
  type WatchOptions,
} from './client';
export type { Credentials, CredentialsProvider } from './credentials';
// Every class and option type there is part of what a caller may catch or construct.
export * from './errors';
export {
  isTerminalEvent,
  type JobEvent,
  type JobEventDetails,
  type JobEventEnvelope,
  type TerminalJobEvent,
} from './events';
export type { FetchFn } from './http';
export type { RetryNotice, SleepFn } from './retry';
export type { OptionNames } from './target';
export * from './types';
export type {
  WebSocketConstructor,
  WebSocketEventLike,
  WebSocketLike,
} from './websocket';
