/**
 * API Gateway's throttle: a token bucket that holds `burstLimit` tokens and
 * refills at `rateLimit` tokens a second; a request takes one token or is
 * refused with 429.
 */
export class TokenBucket {
  #tokens: number;
  #updatedAt: number;

  readonly #rateLimit: number;
  readonly #burstLimit: number;

  constructor(rateLimit: number, burstLimit: number, now: number) {
    this.#rateLimit = rateLimit;
    this.#burstLimit = burstLimit;
    this.#tokens = burstLimit;
    this.#updatedAt = now;
  }

  /** Takes a token if there is one. */
  take(now: number): boolean {
    const elapsed = Math.max(0, now - this.#updatedAt) / 1000;
    this.#tokens = Math.min(this.#burstLimit, this.#tokens + elapsed * this.#rateLimit);
    this.#updatedAt = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}
