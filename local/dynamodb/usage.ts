/** Counting DynamoDB calls and the capacity units they consumed, for `LocalDynamoDb.usage()`. */
import type { Caller } from '../contracts';
import type { BackendInput, BackendResponse, DynamoDbBackend } from './backend';

export interface DynamoDbOperationUsage {
  readonly calls: number;
  /** Read capacity units, as on-demand DynamoDB bills them (see `capacity.ts`). */
  readonly readUnits: number;
  /** Write capacity units, as on-demand DynamoDB bills them (see `capacity.ts`). */
  readonly writeUnits: number;
  /** Write units of the secondary indexes the writes changed (see `index-writes.ts`). */
  readonly indexWriteUnits: number;
}

export interface DynamoDbUsage {
  /** API calls signed by functions (their role sessions), per operation. */
  readonly functions: Readonly<Record<string, DynamoDbOperationUsage>>;
  /** API calls signed by anyone else (the local users: people, tests, tools), per operation. */
  readonly others: Readonly<Record<string, DynamoDbOperationUsage>>;
  /** Calls the local cloud made on its own (TTL sweeps), per operation; AWS does not bill them. */
  readonly internal: Readonly<Record<string, { readonly calls: number }>>;
}

interface MutableUsage {
  calls: number;
  readUnits: number;
  writeUnits: number;
  indexWriteUnits: number;
}

/** Role sessions are functions; IAM users are people. */
export function isFunctionCaller(caller: Caller): boolean {
  return caller.arn.includes(':assumed-role/');
}

export class CapacityTally {
  readonly #byCaller = {
    functions: new Map<string, MutableUsage>(),
    others: new Map<string, MutableUsage>(),
  };
  readonly #internalCalls = new Map<string, number>();

  /** Counts one API call; the returned record takes the units it consumes. */
  call(
    who: 'functions' | 'others',
    operation: string,
  ): { readUnits: number; writeUnits: number; indexWriteUnits: number } {
    const map = this.#byCaller[who];
    let entry = map.get(operation);
    if (!entry) {
      entry = { calls: 0, readUnits: 0, writeUnits: 0, indexWriteUnits: 0 };
      map.set(operation, entry);
    }
    entry.calls += 1;
    return entry;
  }

  /** The backend as the local cloud's own services use it: each call counted as internal. */
  internal(backend: DynamoDbBackend): DynamoDbBackend {
    const count = (operation: string) =>
      this.#internalCalls.set(operation, (this.#internalCalls.get(operation) ?? 0) + 1);
    return {
      get endpoint() {
        return backend.endpoint;
      },
      send(operation: string, input: BackendInput): Promise<BackendResponse> {
        count(operation);
        return backend.send(operation, input);
      },
      call(operation: string, input: Record<string, unknown>) {
        count(operation);
        return backend.call(operation, input);
      },
      close: () => backend.close(),
    };
  }

  snapshot(): DynamoDbUsage {
    const plain = (map: Map<string, MutableUsage>) =>
      Object.fromEntries([...map].map(([operation, usage]) => [operation, { ...usage }]));
    return {
      functions: plain(this.#byCaller.functions),
      others: plain(this.#byCaller.others),
      internal: Object.fromEntries(
        [...this.#internalCalls].map(([operation, calls]) => [operation, { calls }]),
      ),
    };
  }
}
