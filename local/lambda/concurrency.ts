/**
 * Lambda's concurrency model, kept as AWS describes it: a function with
 * reserved concurrency runs at most that many at once, from a pool no other
 * function can use; every other function shares what is left of the account
 * limit (the "unreserved" pool). Nothing ever exceeds the account limit.
 */
import type { FunctionSpec } from '../contracts';
import type { ThrottleReason } from './errors';

/** AWS's default account limit: 1,000 concurrent executions per account and region. */
export const DEFAULT_ACCOUNT_CONCURRENCY = 1000;
/** What AWS keeps unreserved, whatever the functions reserve. */
export const MIN_UNRESERVED_CONCURRENCY = 100;

/** Concurrency settings AWS would refuse; the message names the functions and the numbers. */
export class ConcurrencySettingError extends Error {
  override readonly name = 'ConcurrencySettingError';
}

/**
 * Refuses what AWS refuses: an account limit that is not a positive integer,
 * a reservation that is not a non-negative integer, and reservations that
 * leave fewer than 100 executions unreserved (PutFunctionConcurrency, and so
 * the CloudFormation deploy, fails on those).
 */
export function checkConcurrency(accountLimit: number, functions: readonly FunctionSpec[]): void {
  if (!Number.isInteger(accountLimit) || accountLimit < 1) {
    throw new ConcurrencySettingError(
      `The account concurrency must be a whole number of at least 1, got ${accountLimit}.`,
    );
  }
  const reserving = functions.filter((fn) => fn.reservedConcurrency !== undefined);
  for (const fn of reserving) {
    const reserved = fn.reservedConcurrency as number;
    if (!Number.isInteger(reserved) || reserved < 0) {
      throw new ConcurrencySettingError(
        `${fn.name} (${fn.logicalId}) reserves ${reserved} concurrent executions: ReservedConcurrentExecutions must be a whole number of 0 or more.`,
      );
    }
  }
  const reserved = reserving.reduce((sum, fn) => sum + (fn.reservedConcurrency ?? 0), 0);
  const unreserved = accountLimit - reserved;
  if (reserved > 0 && unreserved < MIN_UNRESERVED_CONCURRENCY) {
    const shares = reserving
      .filter((fn) => (fn.reservedConcurrency ?? 0) > 0)
      .map((fn) => `${fn.name} ${fn.reservedConcurrency}`)
      .join(', ');
    throw new ConcurrencySettingError(
      `The functions reserve ${reserved} concurrent executions (${shares}) of the account's ` +
        `${accountLimit}, leaving ${unreserved} unreserved; AWS keeps at least ` +
        `${MIN_UNRESERVED_CONCURRENCY} unreserved and would refuse these reservations. ` +
        'Lower ReservedConcurrentExecutions, or raise the account concurrency.',
    );
  }
}

export class ConcurrencyLimiter {
  readonly #perFunction = new Map<string, number>();
  readonly #unreservedLimit: number;
  #unreservedInFlight = 0;
  #total = 0;

  readonly #accountLimit: number;

  /** @throws ConcurrencySettingError for settings AWS would refuse (`checkConcurrency`). */
  constructor(accountLimit: number, functions: readonly FunctionSpec[]) {
    checkConcurrency(accountLimit, functions);
    this.#accountLimit = accountLimit;
    const reserved = functions.reduce((sum, fn) => sum + (fn.reservedConcurrency ?? 0), 0);
    this.#unreservedLimit = Math.max(0, accountLimit - reserved);
  }

  /** Takes a slot for one execution; returns why not when there is none. */
  tryAcquire(fn: FunctionSpec): ThrottleReason | undefined {
    const running = this.#perFunction.get(fn.name) ?? 0;
    if (fn.reservedConcurrency !== undefined) {
      if (running >= fn.reservedConcurrency) {
        return 'ReservedFunctionConcurrentInvocationLimitExceeded';
      }
    } else if (this.#unreservedInFlight >= this.#unreservedLimit) {
      return 'ConcurrentInvocationLimitExceeded';
    }
    if (this.#total >= this.#accountLimit) return 'ConcurrentInvocationLimitExceeded';

    this.#perFunction.set(fn.name, running + 1);
    if (fn.reservedConcurrency === undefined) this.#unreservedInFlight += 1;
    this.#total += 1;
    return undefined;
  }

  release(fn: FunctionSpec): void {
    const running = this.#perFunction.get(fn.name) ?? 0;
    if (running <= 0) return;
    this.#perFunction.set(fn.name, running - 1);
    if (fn.reservedConcurrency === undefined) this.#unreservedInFlight -= 1;
    this.#total -= 1;
  }

  /** Executions running now, across all functions. */
  get inFlight(): number {
    return this.#total;
  }
}
