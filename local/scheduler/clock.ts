/**
 * The clocks schedules are read on. Schedules created through the API run on
 * the real clock. The template's schedules run on a virtual one when the
 * local cloud's schedule scale is not 1: it reads the time the local cloud
 * started at when `start()` is called, and from then on runs `1 / scale` times
 * as fast as real time, so at 0.01 a virtual hour passes in 36 real seconds.
 */
export interface ScheduleClock {
  /** The time on this clock, in epoch milliseconds. */
  now(): number;
  /** Real milliseconds until this clock reads `at` (0 or less when it already has). */
  realDelayUntil(at: number): number;
}

export const REAL_CLOCK: ScheduleClock = {
  now: () => Date.now(),
  realDelayUntil: (at) => at - Date.now(),
};

export class ScaledClock implements ScheduleClock {
  readonly #scale: number;
  readonly #origin: number;
  #startedAt: number | undefined;

  /** `scale`: real milliseconds per virtual one (0.01 runs 100 times as fast). */
  constructor(scale: number, origin = Date.now()) {
    if (!(scale > 0)) throw new RangeError(`A clock scale must be above 0, not ${scale}`);
    this.#scale = scale;
    this.#origin = origin;
  }

  get scale(): number {
    return this.#scale;
  }

  /** Sets the clock going; it reads its origin until then. A second call changes nothing. */
  start(): void {
    this.#startedAt ??= Date.now();
  }

  now(): number {
    if (this.#startedAt === undefined) return this.#origin;
    return this.#origin + (Date.now() - this.#startedAt) / this.#scale;
  }

  realDelayUntil(at: number): number {
    return (at - this.now()) * this.#scale;
  }
}
