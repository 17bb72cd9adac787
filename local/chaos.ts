/**
 * Fault injection ("chaos") for the local cloud, at the platform level: the
 * functions' code is never changed, the services misbehave the way AWS may.
 *
 * A setting is a comma-separated list of `KIND[:TARGET]=PROBABILITY`:
 *
 * - `crash:TARGET`   an invocation of a matching function dies (Runtime.ExitError),
 *                    either before its handler runs or after it ran, before it answered;
 * - `hang:TARGET`    an invocation of a matching function runs into its timeout
 *                    (Sandbox.Timedout) without running the handler;
 * - `duplicate[:TARGET]` an EventBridge target (by ARN) gets an event twice, and an
 *                    asynchronous invoke of a matching function is queued twice;
 * - `put-events-failure` a PutEvents entry is answered `InternalFailure`
 *                    (FailedEntryCount > 0) and not put on the bus.
 *
 * TARGET matches a function by a case-sensitive substring of its logical id or
 * name (or, for EventBridge targets, the target's ARN); without one, every
 * function. `crash` and `hang` need a target so a typo cannot take down the
 * whole API. Shorthands for this project: `worker-crash` = `crash:Worker`,
 * `worker-hang` = `hang:Worker`, `completion-crash` = `crash:Completion`,
 * `duplicate-delivery` = `duplicate`.
 */

export type ChaosKind = 'crash' | 'hang' | 'duplicate' | 'put-events-failure';

export const CHAOS_KINDS: readonly ChaosKind[] = [
  'crash',
  'hang',
  'duplicate',
  'put-events-failure',
];

export interface ChaosRule {
  readonly kind: ChaosKind;
  /** Substring of a function's logical id or name (or a target's ARN); undefined matches all. */
  readonly target?: string;
  /** 0 to 1. */
  readonly probability: number;
}

export interface ChaosSettings {
  readonly rules: readonly ChaosRule[];
  /** Seed of the random source, for runs that can be replayed. @default - a random seed */
  readonly seed?: number;
}

/** Where a fault was injected: a function name, an EventBridge target ARN, or a bus. */
export interface ChaosSubject {
  readonly name: string;
  readonly logicalId?: string;
}

const SHORTHANDS: Readonly<Record<string, { kind: ChaosKind; target?: string }>> = {
  'worker-crash': { kind: 'crash', target: 'Worker' },
  'worker-hang': { kind: 'hang', target: 'Worker' },
  'completion-crash': { kind: 'crash', target: 'Completion' },
  'duplicate-delivery': { kind: 'duplicate' },
};

/** A chaos setting that is not valid; the message says which part and why. */
export class ChaosSettingError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ChaosSettingError';
  }
}

/** Parses `--chaos` text, e.g. `crash:Worker=0.05,duplicate=0.05,put-events-failure=0.02`. */
export function parseChaos(text: string): ChaosRule[] {
  const rules: ChaosRule[] = [];
  const seen = new Set<string>();
  for (const raw of text.split(',')) {
    const part = raw.trim();
    if (part === '') continue;
    const equals = part.indexOf('=');
    if (equals === -1) {
      throw new ChaosSettingError(`chaos "${part}": expected KIND[:TARGET]=PROBABILITY`);
    }
    const key = part.slice(0, equals).trim();
    const value = part.slice(equals + 1).trim();
    const probability = Number(value);
    if (value === '' || !Number.isFinite(probability) || probability < 0 || probability > 1) {
      throw new ChaosSettingError(
        `chaos "${part}": the probability must be a number from 0 to 1, got "${value}"`,
      );
    }
    const shorthand = SHORTHANDS[key];
    const colon = key.indexOf(':');
    const kindText = shorthand ? shorthand.kind : colon === -1 ? key : key.slice(0, colon);
    const target = shorthand ? shorthand.target : colon === -1 ? undefined : key.slice(colon + 1);
    if (!(CHAOS_KINDS as readonly string[]).includes(kindText)) {
      throw new ChaosSettingError(
        `chaos "${part}": unknown kind "${kindText}"; use one of ${[...CHAOS_KINDS, ...Object.keys(SHORTHANDS)].join(', ')}`,
      );
    }
    const kind = kindText as ChaosKind;
    if (target !== undefined && !/^[A-Za-z0-9._:/-]+$/.test(target)) {
      throw new ChaosSettingError(
        `chaos "${part}": the target must be part of a function's logical id or name`,
      );
    }
    if ((kind === 'crash' || kind === 'hang') && target === undefined) {
      throw new ChaosSettingError(
        `chaos "${part}": ${kind} needs a target function, e.g. ${kind}:Worker=${value}`,
      );
    }
    if (kind === 'put-events-failure' && target !== undefined) {
      throw new ChaosSettingError(`chaos "${part}": put-events-failure takes no target`);
    }
    const id = `${kind}:${target ?? ''}`;
    if (seen.has(id)) throw new ChaosSettingError(`chaos "${part}": given twice`);
    seen.add(id);
    rules.push({ kind, target, probability });
  }
  if (rules.length === 0) throw new ChaosSettingError('chaos: the setting is empty');
  return rules;
}

/** Mulberry32: small, fast and good enough to pick faults; the same seed gives the same faults. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Counts of injected faults, per `kind` and per `kind:subject`. */
export interface ChaosReport {
  readonly seed: number;
  readonly rules: readonly ChaosRule[];
  readonly total: number;
  readonly byKind: Readonly<Record<string, number>>;
  readonly bySubject: Readonly<Record<string, number>>;
}

/** Decides, per opportunity, whether to inject a fault, and counts what it injected. */
export class Chaos {
  readonly seed: number;
  readonly #random: () => number;
  readonly #counts = new Map<string, number>();
  readonly #kinds = new Map<ChaosKind, number>();

  constructor(readonly settings: ChaosSettings) {
    this.seed = settings.seed ?? Math.floor(Math.random() * 2 ** 31);
    this.#random = seededRandom(this.seed);
  }

  /**
   * Whether to inject `kind` into `subject` now; counts it if so. Rules with
   * probability 0 never draw and 1 always injects, so both are deterministic.
   */
  inject(kind: ChaosKind, subject: ChaosSubject): boolean {
    const rule = this.#ruleFor(kind, subject);
    if (!rule || rule.probability <= 0) return false;
    if (rule.probability < 1 && this.#random() >= rule.probability) return false;
    this.#kinds.set(kind, (this.#kinds.get(kind) ?? 0) + 1);
    const key = `${kind}:${subject.name}`;
    this.#counts.set(key, (this.#counts.get(key) ?? 0) + 1);
    return true;
  }

  /** A number in [0, 1) from the same seeded source (e.g. where a crash happens). */
  draw(): number {
    return this.#random();
  }

  report(): ChaosReport {
    let total = 0;
    for (const count of this.#kinds.values()) total += count;
    return {
      seed: this.seed,
      rules: this.settings.rules,
      total,
      byKind: Object.fromEntries(CHAOS_KINDS.map((kind) => [kind, this.#kinds.get(kind) ?? 0])),
      bySubject: Object.fromEntries([...this.#counts].sort(([a], [b]) => a.localeCompare(b))),
    };
  }

  #ruleFor(kind: ChaosKind, subject: ChaosSubject): ChaosRule | undefined {
    // The most specific rule wins: a targeted one over a catch-all.
    let fallback: ChaosRule | undefined;
    for (const rule of this.settings.rules) {
      if (rule.kind !== kind) continue;
      if (rule.target === undefined) {
        fallback = rule;
        continue;
      }
      if (
        subject.name.includes(rule.target) ||
        (subject.logicalId?.includes(rule.target) ?? false)
      ) {
        return rule;
      }
    }
    return fallback;
  }
}

/** A setting as `--chaos` text, e.g. `crash:Worker=0.05,duplicate=0.05`. */
export function formatChaosRules(rules: readonly ChaosRule[]): string {
  return rules
    .map((rule) => `${rule.kind}${rule.target ? `:${rule.target}` : ''}=${rule.probability}`)
    .join(',');
}

/** The report as a few lines of text, for the terminal. */
export function formatChaosReport(report: ChaosReport): string {
  const setting = formatChaosRules(report.rules);
  const lines = [`Chaos (${setting}, seed ${report.seed}): ${report.total} fault(s) injected`];
  for (const [key, count] of Object.entries(report.bySubject)) lines.push(`  ${key}  ${count}`);
  return `${lines.join('\n')}\n`;
}
