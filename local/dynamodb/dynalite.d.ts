/**
 * The parts of dynalite the local cloud uses (the package ships no types).
 * The embedded DynamoDB calls dynalite's store, validations and actions in
 * process (`embedded.ts`) rather than through its HTTP server; their shapes
 * are dynalite 4's.
 */
declare module 'dynalite/db' {
  interface DynaliteStoreOptions {
    /** LevelDB directory; in memory when absent. */
    path?: string;
    /** How long a table stays CREATING / DELETING / UPDATING (default 500 ms each). */
    createTableMs?: number;
    deleteTableMs?: number;
    updateTableMs?: number;
    /** Default 400. */
    maxItemSizeKb?: number;
  }

  interface DynaliteStore {
    readonly options: Readonly<Record<string, unknown>>;
    /** The LevelDB, its promise methods wrapped by dynalite to take callbacks too. */
    readonly db: Record<'get' | 'put' | 'del' | 'batch', (...args: unknown[]) => unknown> &
      Record<'keys' | 'values', (options?: unknown) => LevelIterator> & {
        close(callback: (error?: Error | null) => void): void;
      };
    readonly lifecycleManager?: {
      gracefulClose(callback: (error?: Error | null) => void): void;
    };
  }

  /** An abstract-level iterator (`db.keys()`, `db.values()`), as dynalite's streams use it. */
  interface LevelIterator {
    next(): Promise<unknown>;
    close(): Promise<void>;
    /** What dynalite's streams call when destroyed; abstract-level's iterators have none. */
    return?: () => Promise<unknown>;
  }

  export function create(options: DynaliteStoreOptions): DynaliteStore;
}

declare module 'dynalite/validations' {
  import type { DynaliteStore } from 'dynalite/db';

  /** Copies the fields the operation knows into a new object; throws `{statusCode, body}` errors. */
  export function checkTypes(
    data: Record<string, unknown>,
    types: unknown,
  ): Record<string, unknown>;
  /** Validates (and parses expressions into `data`); throws `{statusCode, body}` errors. */
  export function checkValidations(
    data: Record<string, unknown>,
    types: unknown,
    custom: unknown,
    store: DynaliteStore,
  ): void;
}
