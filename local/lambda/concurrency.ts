/**
 * Lambda's concurrency model, kept as AWS describes it: a function with
 * reserved concurrency runs at most that many at once, from a pool no other
 * function can use; every other function shares what is left of the account
 * limit (the "unreserved" pool). Nothing ever exceeds the account limit.
 */
import type { FunctionSpec } from '../contracts';
import type { ThrottleReason } from './errors';

export const DEFAULT_ACCOUNT_CONCURRENCY = 100;

export class ConcurrencyLimiter {
  private readonly perFunction = new Map<string, number>();
  private readonly unreservedLimit: number;
  private unreservedInFlight = 0;
  private total = 0;

  constructor(
    private readonly accountLimit: number,
    functions: readonly FunctionSpec[],
  ) {
    const reserved = functions.reduce((sum, fn) => sum + (fn.reservedConcurrency ?? 0), 0);
    this.unreservedLimit = Math.max(0, accountLimit - reserved);
  }

  /** Takes a slot for one execution; returns why not when there is none. */
  tryAcquire(fn: FunctionSpec): ThrottleReason | undefined {
    const running = this.perFunction.get(fn.name) ?? 0;
    if (fn.reservedConcurrency !== undefined) {
      if (running >= fn.reservedConcurrency) {
        return 'ReservedFunctionConcurrentInvocationLimitExceeded';
      }
    } else if (this.unreservedInFlight >= this.unreservedLimit) {
      return 'ConcurrentInvocationLimitExceeded';
    }
    if (this.total >= this.accountLimit) return 'ConcurrentInvocationLimitExceeded';

    this.perFunction.set(fn.name, running + 1);
    if (fn.reservedConcurrency === undefined) this.unreservedInFlight += 1;
    this.total += 1;
    return undefined;
  }

  release(fn: FunctionSpec): void {
    const running = this.perFunction.get(fn.name) ?? 0;
    if (running <= 0) return;
    this.perFunction.set(fn.name, running - 1);
    if (fn.reservedConcurrency === undefined) this.unreservedInFlight -= 1;
    this.total -= 1;
  }

  /** Executions running now, across all functions. */
  get inFlight(): number {
    return this.total;
  }
}
