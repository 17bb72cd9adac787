/** The part of dynalite's API the local cloud uses (the package ships no types). */
declare module 'dynalite' {
  import type { Server } from 'node:http';

  interface DynaliteOptions {
    /** LevelDB directory; in memory when absent. */
    readonly path?: string;
    /** How long a table stays CREATING / DELETING / UPDATING (default 500 ms each). */
    readonly createTableMs?: number;
    readonly deleteTableMs?: number;
    readonly updateTableMs?: number;
    /** Default 400. */
    readonly maxItemSizeKb?: number;
    readonly verbose?: boolean;
    readonly debug?: boolean;
  }

  /**
   * An HTTP server speaking DynamoDB's JSON 1.0 protocol. Its `close` also
   * closes (and, on disk, flushes) the store.
   */
  function dynalite(options?: DynaliteOptions): Server;

  export = dynalite;
}
