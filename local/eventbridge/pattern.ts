/**
 * EventBridge event-pattern matching for the local emulator.
 *
 * The behaviour follows AWS's matcher, Event Ruler (the open-source library
 * EventBridge runs), more than a literal reading of the docs, because the docs
 * leave the corners out. The main consequences, each of which a test pins down:
 *
 * - A pattern is compiled, like AWS does, into flat *alternatives*: one per way
 *   through its `$or`s, each a map from a dotted field path (`detail.state`) to
 *   the list of values that path accepts. So `{"a": {"b": [..]}}` and
 *   `{"a.b": [..]}` are the same pattern, and a path written twice in one
 *   alternative keeps the value list written LAST (a `$or` branch can override
 *   a sibling written before the `$or`).
 * - The event is flattened the same way: every leaf (string, number, boolean,
 *   null) under its dotted path, arrays contributing each element. An object,
 *   an empty array or an empty object is not a leaf, so a path that only
 *   reaches one of those does not exist as far as matching is concerned.
 * - Matching is *array-consistent*: two fields cannot be matched from different
 *   elements of the same event array (`{"a": {"b": [1], "c": [2]}}` does not
 *   match `{"a": [{"b": 1}, {"c": 2}]}`).
 * - Values are typed: a string never equals a number, `"5"` never satisfies a
 *   numeric test, and string operators (prefix, suffix, wildcard,
 *   equals-ignore-case, cidr) only ever match strings.
 * - `anything-but` needs a value to judge, so it never matches a missing field,
 *   but it does match a value of another type (`null`, a number for a string
 *   list) and, for an event array, matches if ANY element is not excluded.
 */
import { type CidrBlock, CidrSyntaxError, cidrContains, ipKey, parseCidr, parseIp } from './ip';

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

/**
 * A pattern EventBridge would refuse. The emulator puts it on the wire as
 * `{"__type": "InvalidEventPatternException", "message": error.message}`.
 *
 * `reason` is Event Ruler's text, which AWS passes through verbatim. AWS also
 * appends the JSON parser's location (` at [Source: ...; line: 1, column: 9]`);
 * that part is not reproduced because this module works on parsed values.
 */
export class InvalidEventPatternError extends Error {
  override readonly name = 'InvalidEventPatternException';
  readonly code = 'InvalidEventPatternException';
  readonly reason: string;

  constructor(reason: string, options?: ErrorOptions) {
    super(`Event pattern is not valid. Reason: ${reason}`, options);
    this.reason = reason;
  }
}

function invalid(reason: string): never {
  throw new InvalidEventPatternError(reason);
}

// ---------------------------------------------------------------------------
// Limits and reserved words
// ---------------------------------------------------------------------------

/** Jackson's default maximum nesting depth, which bounds what AWS can parse at all. */
const MAX_NESTING_DEPTH = 1000;
/**
 * How many alternatives `$or` may expand to. AWS refuses patterns with "over
 * 1000 rule combinations"; the exact message text is not documented.
 */
const MAX_ALTERNATIVES = 1000;
/** Event Ruler's numeric range: values outside it are not numbers as far as matching goes. */
const FIVE_BILLION_MICROS = 5_000_000_000n * 1_000_000n;
const MAX_DECIMALS = 6;

/** Field names Event Ruler refuses inside a `$or` branch (operators, current and reserved). */
const RESERVED_IN_OR = new Set([
  'exactly',
  'equals-ignore-case',
  'prefix',
  'suffix',
  'anything-but',
  'exists',
  'wildcard',
  'numeric',
  'cidr',
  'html',
  '=',
  '<',
  '<=',
  '>',
  '>=',
  'regex',
  'not-wildcard',
  'not-equals-ignore-case',
  'date-after',
  'date-on-or-after',
  'date-before',
  'date-on-or-before',
  'in-date-range',
  'ip-address-in-range',
  'ip-address-not-in-range',
]);

// ---------------------------------------------------------------------------
// Values
// ---------------------------------------------------------------------------

type Leaf = string | number | boolean | null;
type ValueTest = (value: Leaf) => boolean;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isLeaf(value: unknown): value is Leaf {
  return (
    value === null ||
    typeof value === 'string' ||
    typeof value === 'boolean' ||
    (typeof value === 'number' && Number.isFinite(value))
  );
}

const NUMBER_TEXT = /^(-?)(\d+)(?:\.(\d+))?(?:e([+-]\d+))?$/;

type Comparable = { readonly micros: bigint } | { readonly error: string };

/**
 * A number as Event Ruler compares it: an exact decimal scaled to millionths,
 * within ±5e9. Numbers are read from their shortest decimal text, so `5` and
 * `5.0` are the same and `0.1 + 0.2` (0.30000000000000004) is a 17-decimal
 * value. Anything with more than 6 decimals or out of range is refused here:
 * in an event that makes the value "not a number" to numeric tests (AWS's
 * precision limit, surprising but real), in a pattern threshold it makes the
 * pattern invalid. Exact-value patterns (`[5]`) do not go through this.
 */
function comparable(n: number): Comparable {
  const match = NUMBER_TEXT.exec(String(n));
  if (!Number.isFinite(n) || match === null) return { error: `Cannot compare number : ${n}` };
  const [, sign = '', whole = '', fraction = '', exponent = '0'] = match;
  let digits = (whole + fraction).replace(/^0+(?=\d)/, '');
  let scale = fraction.length - Number.parseInt(exponent, 10);
  while (scale > 0 && digits.length > 1 && digits.endsWith('0')) {
    digits = digits.slice(0, -1);
    scale -= 1;
  }
  if (scale > MAX_DECIMALS) return { error: 'Only values upto 6 decimals are supported' };
  // scale may be very negative (1e300): compare magnitudes before building a huge BigInt.
  if (digits !== '0' && digits.length - scale > 11) return { error: outOfRange() };
  const micros = BigInt(sign + digits) * 10n ** BigInt(MAX_DECIMALS - scale);
  if (micros > FIVE_BILLION_MICROS || micros < -FIVE_BILLION_MICROS) return { error: outOfRange() };
  return { micros };
}

function outOfRange(): string {
  // Java prints the double constant, hence "5.0E9".
  return 'Value must be between -5.0E9 and 5.0E9, inclusive';
}

/** Micros for an event value, or undefined when AWS would not treat it as a number. */
function eventMicros(value: Leaf): bigint | undefined {
  if (typeof value !== 'number') return undefined;
  const c = comparable(value);
  return 'micros' in c ? c.micros : undefined;
}

function thresholdMicros(n: number): bigint {
  const c = comparable(n);
  return 'micros' in c ? c.micros : invalid(c.error);
}

/** JSON token text, as AWS's streaming parser names an unexpected token. */
function tokenText(value: unknown): string {
  if (value === undefined) return ']';
  if (Array.isArray(value)) return '[';
  if (isRecord(value)) return '{';
  return typeof value === 'string' ? value : String(value);
}

// Case-insensitive comparisons use Unicode lower-casing of both sides. AWS
// matches each operand character's lower or upper case, which is the same for
// ASCII and nearly all of Unicode; it differs only for characters whose case
// mapping changes length or is not symmetric (ß/ẞ, dotted İ).
function fold(text: string): string {
  return text.toLowerCase();
}

// ---------------------------------------------------------------------------
// Wildcards
// ---------------------------------------------------------------------------

/** UTF-8 length, for AWS's byte offsets into the quoted operand. */
function utf8Length(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/**
 * Splits a wildcard operand on its unescaped `*`s into literal segments. `\*`
 * is a literal asterisk and `\\` a literal backslash; any other backslash
 * (including a trailing one, which would escape AWS's closing quote) and `**`
 * are refused. Positions are byte offsets into the operand *with its quotes*,
 * which is what AWS reports.
 */
function parseWildcard(operand: string): readonly string[] {
  const segments: string[] = [];
  let current = '';
  for (let i = 0; i < operand.length; i += 1) {
    const char = operand[i];
    if (char === '*') {
      if (operand[i + 1] === '*') {
        invalid(`Consecutive wildcard characters at pos ${utf8Length(operand.slice(0, i)) + 1}`);
      }
      segments.push(current);
      current = '';
    } else if (char === '\\') {
      const next = operand[i + 1];
      if (next !== '*' && next !== '\\') {
        invalid(`Invalid escape character at pos ${utf8Length(operand.slice(0, i)) + 1}`);
      }
      current += next;
      i += 1;
    } else {
      current += char;
    }
  }
  segments.push(current);
  return segments;
}

/**
 * Glob match over literal segments: the first anchors the start, the last the
 * end, and the ones between are found leftmost-first, which is optimal for
 * `*`-only globs. Linear in the value, no regex, so a wildcard rule cannot
 * backtrack catastrophically on a long value.
 */
function wildcardMatches(segments: readonly string[], value: string): boolean {
  const first = segments[0] ?? '';
  if (segments.length === 1) return value === first;
  const last = segments[segments.length - 1] ?? '';
  if (value.length < first.length + last.length) return false;
  if (!value.startsWith(first) || !value.endsWith(last)) return false;
  const end = value.length - last.length;
  let position = first.length;
  for (let i = 1; i < segments.length - 1; i += 1) {
    const segment = segments[i] ?? '';
    if (segment === '') continue;
    const at = value.indexOf(segment, position);
    if (at < 0 || at + segment.length > end) return false;
    position = at + segment.length;
  }
  return true;
}

// ---------------------------------------------------------------------------
// Match expressions (the `{ "operator": operand }` objects in a value list)
// ---------------------------------------------------------------------------

/** One compiled value list: any test passing on any value, or absence when `absent` is set. */
interface FieldRule {
  readonly tests: readonly ValueTest[];
  /** `{"exists": false}` is in the list. */
  readonly absent: boolean;
}

const EXISTS: ValueTest = () => true;

function exactTest(value: Leaf): ValueTest {
  if (typeof value === 'string') {
    // A string that is an IP address is compared as an address, so "::1" in a
    // pattern matches "0:0:0:0:0:0:0:1" in an event, as on AWS.
    const address = parseIp(value);
    if (address !== undefined) {
      const key = ipKey(address);
      return (v) => {
        if (typeof v !== 'string') return false;
        const other = parseIp(v);
        return other !== undefined && ipKey(other) === key;
      };
    }
  }
  // Numbers compare by value (5 equals 5.0 after JSON parsing), never with strings.
  return (v) => v === value;
}

function requireString(operand: unknown, reason: string): string {
  return typeof operand === 'string' ? operand : invalid(reason);
}

function onlyKey(keys: readonly string[], reason: string): void {
  if (keys.length > 1) invalid(reason);
}

function affixTest(operator: 'prefix' | 'suffix', operand: unknown): ValueTest {
  const atStart = operator === 'prefix';
  if (isRecord(operand)) {
    // `{"prefix": {"equals-ignore-case": "..."}}`
    const label = atStart ? 'Prefix' : 'Suffix';
    const keys = Object.keys(operand);
    const inner = keys[0] ?? invalid(`${label} expression name not found`);
    if (inner !== 'equals-ignore-case') invalid(`Unsupported ${operator} pattern: ${inner}`);
    const text = fold(
      requireString(operand[inner], 'equals-ignore-case match pattern must be a string'),
    );
    onlyKey(keys, 'Only one key allowed in match expression');
    return (v) =>
      typeof v === 'string' && (atStart ? fold(v).startsWith(text) : fold(v).endsWith(text));
  }
  // An empty prefix/suffix is accepted and means "any string" (AWS matches
  // affixes against the quoted value, so "" is just the quote every string has).
  const text = requireString(operand, `${operator} match pattern must be a string`);
  return (v) => typeof v === 'string' && (atStart ? v.startsWith(text) : v.endsWith(text));
}

function numericTest(operand: unknown): ValueTest {
  if (!Array.isArray(operand)) invalid('Value of numeric must be an array.');
  const terms: readonly unknown[] = operand;
  const operator = terms[0];
  if (typeof operator !== 'string')
    invalid(`Invalid member in numeric match: ${tokenText(operator)}`);
  const first = terms[1];
  const needNumber = (value: unknown, op: string): number =>
    typeof value === 'number' && Number.isFinite(value)
      ? value
      : invalid(`Value of ${op === '=' ? 'equals' : op} must be numeric`);

  if (operator === '=') {
    const value = needNumber(first, operator);
    if (terms.length > 2) invalid('Too many elements in numeric expression');
    const target = thresholdMicros(value);
    return (v) => eventMicros(v) === target;
  }
  if (operator === '<' || operator === '<=') {
    const top = needNumber(first, operator);
    if (terms.length > 2) invalid('Too many elements in numeric expression');
    return rangeTest(-5e9, false, top, operator === '<');
  }
  if (operator !== '>' && operator !== '>=') {
    invalid(`Unrecognized numeric range operator: ${operator}`);
  }
  const bottom = needNumber(first, operator);
  if (terms.length === 2) return rangeTest(bottom, operator === '>', 5e9, false);
  const upper = terms[2];
  if (typeof upper !== 'string') invalid(`Bad value in numeric range: ${tokenText(upper)}`);
  if (upper !== '<' && upper !== '<=') invalid(`Bad numeric range operator: ${upper}`);
  const top = needNumber(terms[3], upper);
  if (terms.length > 4) invalid('Too many terms in numeric range expression');
  return rangeTest(bottom, operator === '>', top, upper === '<');
}

/** One-sided comparisons are ranges to ±5e9, so `["<", -5e9]` is an empty range and refused. */
function rangeTest(bottom: number, openBottom: boolean, top: number, openTop: boolean): ValueTest {
  if (bottom >= top) invalid('Bottom must be less than top');
  const low = thresholdMicros(bottom);
  const high = thresholdMicros(top);
  return (v) => {
    const micros = eventMicros(v);
    if (micros === undefined) return false;
    return (
      (openBottom ? micros > low : micros >= low) && (openTop ? micros < high : micros <= high)
    );
  };
}

function cidrTest(operand: unknown): ValueTest {
  // AWS's message really does say "prefix" here.
  const text = requireString(operand, 'prefix match pattern must be a string');
  let block: CidrBlock;
  try {
    block = parseCidr(text);
  } catch (error) {
    if (error instanceof CidrSyntaxError) invalid(error.message);
    throw error;
  }
  return (v) => {
    if (typeof v !== 'string') return false;
    const address = parseIp(v);
    return address !== undefined && cidrContains(block, address);
  };
}

const ANYTHING_BUT_NESTED = ['equals-ignore-case', 'prefix', 'suffix', 'wildcard'] as const;
type AnythingButNested = (typeof ANYTHING_BUT_NESTED)[number];

function isAnythingButNested(key: string): key is AnythingButNested {
  return (ANYTHING_BUT_NESTED as readonly string[]).includes(key);
}

function anythingButTest(expression: Record<string, unknown>, operand: unknown): ValueTest {
  if (isRecord(operand)) return anythingButNestedTest(expression, operand);
  let excluded: ValueTest;
  if (Array.isArray(operand)) {
    const strings = new Set<string>();
    const numbers = new Set<bigint>();
    for (const item of operand) {
      if (typeof item === 'string') strings.add(item);
      else if (typeof item === 'number' && Number.isFinite(item))
        numbers.add(thresholdMicros(item));
      else invalid('Inside anything but list, start|null|boolean is not supported.');
    }
    if (strings.size > 0 === numbers.size > 0) {
      invalid(
        'Inside anything but list, either all values are number or string, mixed type is not supported',
      );
    }
    excluded =
      strings.size > 0
        ? (v) => typeof v === 'string' && strings.has(v)
        : (v) => {
            const micros = eventMicros(v);
            return micros !== undefined && numbers.has(micros);
          };
  } else if (typeof operand === 'string') {
    excluded = (v) => v === operand;
  } else if (typeof operand === 'number' && Number.isFinite(operand)) {
    const target = thresholdMicros(operand);
    excluded = (v) => eventMicros(v) === target;
  } else {
    invalid('Value of anything-but must be an array or single string/number value.');
  }
  if (Object.keys(expression).length > 1) invalid('Too many elements in numeric expression');
  // Only a value that IS excluded fails: a value of another type (null, a
  // number against a string list) passes.
  return (v) => !excluded(v);
}

function anythingButNestedTest(
  expression: Record<string, unknown>,
  nested: Record<string, unknown>,
): ValueTest {
  const keys = Object.keys(nested);
  const inner = keys[0] ?? invalid('Anything-But expression name not found');
  // Includes a nested `anything-but`, which AWS refuses the same way.
  if (!isAnythingButNested(inner)) invalid(`Unsupported anything-but pattern: ${inner}`);
  const operand = nested[inner];
  const values: readonly unknown[] = Array.isArray(operand) ? operand : [operand];
  if (!Array.isArray(operand) && typeof operand !== 'string' && typeof operand !== 'number') {
    invalid('Value of anything-but must be an array or single string/number value.');
  }
  // AWS accepts an empty list here and then has nothing to exclude, which would
  // turn the rule into "match every value"; refused instead (see test notes).
  if (values.length === 0) invalid('Empty arrays are not allowed');
  const texts = values.map((value) => {
    if (typeof value === 'string') return value;
    if (inner === 'equals-ignore-case') {
      invalid(
        'Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported.',
      );
    }
    return invalid(
      inner === 'wildcard'
        ? 'wildcard match pattern must be a string'
        : 'prefix/suffix match pattern must be a string',
    );
  });
  if ((inner === 'prefix' || inner === 'suffix') && texts.includes('')) {
    invalid('Null prefix/suffix not allowed');
  }
  let excluded: (v: string) => boolean;
  switch (inner) {
    case 'prefix':
      excluded = (v) => texts.some((t) => v.startsWith(t));
      break;
    case 'suffix':
      excluded = (v) => texts.some((t) => v.endsWith(t));
      break;
    case 'equals-ignore-case': {
      const folded = new Set(texts.map(fold));
      excluded = (v) => folded.has(fold(v));
      break;
    }
    case 'wildcard': {
      const globs = texts.map(parseWildcard);
      excluded = (v) => globs.some((segments) => wildcardMatches(segments, v));
      break;
    }
  }
  if (keys.length > 1 || Object.keys(expression).length > 1) {
    // AWS's parser reports any extra key after an anything-but operand this way.
    invalid('Too many elements in numeric expression');
  }
  // Non-strings can never be excluded by a string operator, so they pass.
  return (v) => typeof v !== 'string' || !excluded(v);
}

/** Compiles one `{ operator: operand }` object; `exists: false` is returned as 'absent'. */
function matchExpression(expression: Record<string, unknown>): ValueTest | 'absent' {
  const keys = Object.keys(expression);
  const operator = keys[0] ?? invalid('Match expression name not found');
  const operand = expression[operator];
  const singleKey = () => onlyKey(keys, 'Only one key allowed in match expression');
  switch (operator) {
    case 'prefix':
    case 'suffix': {
      const test = affixTest(operator, operand);
      singleKey();
      return test;
    }
    case 'equals-ignore-case': {
      const text = fold(
        requireString(operand, 'equals-ignore-case match pattern must be a string'),
      );
      singleKey();
      return (v) => typeof v === 'string' && fold(v) === text;
    }
    case 'wildcard': {
      const segments = parseWildcard(
        requireString(operand, 'wildcard match pattern must be a string'),
      );
      singleKey();
      return (v) => typeof v === 'string' && wildcardMatches(segments, v);
    }
    case 'numeric': {
      const test = numericTest(operand);
      if (keys.length > 1) invalid('Too many elements in numeric expression');
      return test;
    }
    case 'anything-but':
      return anythingButTest(expression, operand);
    case 'exists': {
      if (typeof operand !== 'boolean')
        invalid('exists match pattern must be either true or false.');
      singleKey();
      return operand ? EXISTS : 'absent';
    }
    case 'cidr': {
      const test = cidrTest(operand);
      singleKey();
      return test;
    }
    default:
      // Includes Event Ruler's undocumented `exactly`, which EventBridge does
      // not document; refused to keep patterns portable (see test notes).
      return invalid(`Unrecognized match type ${operator}`);
  }
}

function compileValueList(values: readonly unknown[]): FieldRule {
  const tests: ValueTest[] = [];
  let absent = false;
  for (const value of values) {
    if (isRecord(value)) {
      const compiled = matchExpression(value);
      if (compiled === 'absent') absent = true;
      else tests.push(compiled);
    } else if (isLeaf(value)) {
      tests.push(exactTest(value));
    } else {
      invalid('Match value must be String, number, true, false, or null');
    }
  }
  if (values.length === 0) invalid('Empty arrays are not allowed');
  return { tests, absent };
}

// ---------------------------------------------------------------------------
// Pattern structure and `$or` expansion
// ---------------------------------------------------------------------------

/** One alternative under construction: path -> value list, in write order. */
type Draft = Map<string, FieldRule>;

interface CompiledField {
  readonly path: string;
  readonly rule: FieldRule;
}

type Alternative = readonly CompiledField[];

function join(prefix: string, key: string): string {
  return prefix === '' ? key : `${prefix}.${key}`;
}

function checkDepth(depth: number): void {
  if (depth > MAX_NESTING_DEPTH) {
    invalid(
      `Document nesting depth (${depth}) exceeds the maximum allowed (${MAX_NESTING_DEPTH}, from \`StreamReadConstraints.getMaxNestingDepth()\`)`,
    );
  }
}

/**
 * Walks one pattern object, writing each value list into every draft built so
 * far, exactly like Event Ruler's compiler, so that document order decides
 * which of two writes to the same path survives.
 */
function compileObject(
  drafts: Draft[],
  prefix: string,
  object: Record<string, unknown>,
  insideOr: boolean,
  depth: number,
): void {
  checkDepth(depth);
  const keys = Object.keys(object);
  if (keys.length === 0) invalid('Empty objects are not allowed');
  for (const key of keys) {
    const value = object[key];
    if (key === '$or') {
      compileOr(drafts, prefix, value, depth);
      continue;
    }
    if (insideOr && RESERVED_IN_OR.has(key)) {
      invalid(`${key} is Ruler reserved fieldName which cannot be used inside $or.`);
    }
    if (isRecord(value)) {
      compileObject(drafts, join(prefix, key), value, insideOr, depth + 1);
    } else if (Array.isArray(value)) {
      checkDepth(depth + 1);
      const rule = compileValueList(value);
      if (drafts.length === 0) drafts.push(new Map());
      for (const draft of drafts) draft.set(join(prefix, key), rule);
    } else {
      invalid(`"${key}" must be an object or an array`);
    }
  }
}

/**
 * `$or` forks every draft so far into one copy per branch. Strict where AWS has
 * a legacy fallback: AWS re-reads a malformed `$or` (e.g. `"$or": {...}`) as
 * an ordinary field name, this refuses it, since no new pattern means that.
 */
function compileOr(drafts: Draft[], prefix: string, members: unknown, depth: number): void {
  if (!Array.isArray(members)) invalid('It must be an Array followed with $or.');
  const before = drafts.map((draft) => new Map(draft));
  drafts.length = 0;
  for (const member of members) {
    if (!isRecord(member)) invalid('Only JSON object is allowed in array of $or relationship.');
    const forked = before.length > 0 ? before.map((draft) => new Map(draft)) : [new Map()];
    compileObject(forked, prefix, member, true, depth + 2);
    drafts.push(...forked);
    if (drafts.length > MAX_ALTERNATIVES) {
      invalid(`Event pattern contains more than ${MAX_ALTERNATIVES} rule combinations`);
    }
  }
  if (members.length < 2) invalid('There must have at least 2 Objects in $or relationship.');
}

function finish(draft: Draft): Alternative {
  // AWS walks a rule's fields in sorted path order; it matters for `exists: false`
  // under arrays (see matchFrom).
  return [...draft.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([path, rule]) => ({ path, rule }));
}

// ---------------------------------------------------------------------------
// Events
// ---------------------------------------------------------------------------

/**
 * Which element of which event array a leaf sits in, as flat
 * `[arrayId, index, arrayId, index, ...]` pairs.
 */
type Membership = readonly number[];

const NO_MEMBERSHIP: Membership = [];

interface FlatValue {
  readonly value: Leaf;
  readonly membership: Membership;
}

/**
 * An event flattened once into dotted paths. Build one with {@link prepareEvent}
 * when matching the same event against many rules.
 */
export class PreparedEvent {
  readonly #fields = new Map<string, FlatValue[]>();

  constructor(event: unknown) {
    if (!isRecord(event)) return;
    // Iterative so an event nested thousands deep cannot overflow the stack.
    const stack: { value: unknown; path: string; membership: Membership }[] = [
      { value: event, path: '', membership: NO_MEMBERSHIP },
    ];
    let arrays = 0;
    for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
      const { value, path, membership } = item;
      if (Array.isArray(value)) {
        const id = arrays++;
        value.forEach((element, index) => {
          stack.push({ value: element, path, membership: [...membership, id, index] });
        });
      } else if (isRecord(value)) {
        for (const [key, child] of Object.entries(value)) {
          stack.push({ value: child, path: join(path, key), membership });
        }
      } else if (isLeaf(value) && path !== '') {
        const values = this.#fields.get(path);
        if (values === undefined) this.#fields.set(path, [{ value, membership }]);
        else values.push({ value, membership });
      }
    }
  }

  /** @internal */
  valuesAt(path: string): readonly FlatValue[] {
    return this.#fields.get(path) ?? [];
  }
}

export function prepareEvent(event: unknown): PreparedEvent {
  return event instanceof PreparedEvent ? event : new PreparedEvent(event);
}

function consistent(a: Membership, b: Membership): boolean {
  for (let i = 0; i < a.length; i += 2) {
    for (let j = 0; j < b.length; j += 2) {
      if (a[i] === b[j] && a[i + 1] !== b[j + 1]) return false;
    }
  }
  return true;
}

function merge(a: Membership, b: Membership): Membership {
  if (a.length === 0) return b;
  if (b.length === 0) return a;
  const merged = [...a];
  for (let j = 0; j < b.length; j += 2) {
    let known = false;
    for (let i = 0; i < a.length; i += 2) if (a[i] === b[j]) known = true;
    if (!known) merged.push(b[j] ?? 0, b[j + 1] ?? 0);
  }
  return merged;
}

/**
 * Backtracking search for one value per field, all from the same element of
 * every array they share. `exists: false` is judged against the fields matched
 * so far: a path counts as present only through values consistent with them.
 * Fields are taken in sorted path order, as AWS does, which makes a few
 * `exists: false`-inside-arrays cases order-dependent exactly like AWS.
 */
function matchFrom(
  fields: Alternative,
  index: number,
  event: PreparedEvent,
  membership: Membership,
): boolean {
  const field = fields[index];
  if (field === undefined) return true;
  const values = event.valuesAt(field.path);
  if (field.rule.absent) {
    const present = values.some((v) => consistent(membership, v.membership));
    if (!present && matchFrom(fields, index + 1, event, membership)) return true;
  }
  let triedUnscoped = false;
  for (const { value, membership: own } of values) {
    if (own.length === 0 && triedUnscoped) continue;
    if (!consistent(membership, own)) continue;
    if (!field.rule.tests.some((test) => test(value))) continue;
    if (own.length === 0) triedUnscoped = true;
    if (matchFrom(fields, index + 1, event, merge(membership, own))) return true;
  }
  return false;
}

function matchAlternative(fields: Alternative, event: PreparedEvent): boolean {
  // Cheap reject before the search: a required path with no values at all.
  for (const { path, rule } of fields) {
    if (!rule.absent && event.valuesAt(path).length === 0) return false;
  }
  return matchFrom(fields, 0, event, NO_MEMBERSHIP);
}

// ---------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------

/** A validated pattern, ready to match events. Build with {@link compilePattern}. */
export class CompiledPattern {
  readonly #alternatives: readonly Alternative[];

  /** @internal use {@link compilePattern} */
  constructor(alternatives: readonly Alternative[]) {
    this.#alternatives = alternatives;
  }

  matches(event: unknown): boolean {
    const prepared = prepareEvent(event);
    return this.#alternatives.some((fields) => matchAlternative(fields, prepared));
  }
}

function parsePatternText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    // AWS reports its JSON parser's own message here; not reproduced.
    throw new InvalidEventPatternError('Filter is not valid JSON', { cause: error });
  }
}

function compileUncached(pattern: unknown): CompiledPattern {
  const root = typeof pattern === 'string' ? parsePatternText(pattern) : pattern;
  if (!isRecord(root)) invalid('Filter is not an object');
  const drafts: Draft[] = [];
  compileObject(drafts, '', root, false, 1);
  return new CompiledPattern(drafts.map(finish));
}

// Rules are matched per event, so compiled patterns are cached: by text for
// JSON strings (bounded, oldest evicted) and by identity for objects, which
// therefore must not be mutated after first use.
const MAX_CACHED_TEXTS = 1000;
const byText = new Map<string, CompiledPattern>();
const byObject = new WeakMap<object, CompiledPattern>();

/**
 * Validates and compiles a pattern (an object, or its JSON text). Throws
 * {@link InvalidEventPatternError} for anything EventBridge would refuse.
 */
export function compilePattern(pattern: unknown): CompiledPattern {
  if (typeof pattern === 'string') {
    const cached = byText.get(pattern);
    if (cached !== undefined) return cached;
    const compiled = compileUncached(pattern);
    if (byText.size >= MAX_CACHED_TEXTS) {
      const oldest = byText.keys().next();
      if (oldest.done !== true) byText.delete(oldest.value);
    }
    byText.set(pattern, compiled);
    return compiled;
  }
  if (typeof pattern === 'object' && pattern !== null) {
    const cached = byObject.get(pattern);
    if (cached !== undefined) return cached;
    const compiled = compileUncached(pattern);
    byObject.set(pattern, compiled);
    return compiled;
  }
  return compileUncached(pattern);
}

/** Throws {@link InvalidEventPatternError} if EventBridge would refuse `pattern`. */
export function validatePattern(pattern: unknown): void {
  compilePattern(pattern);
}

/**
 * Whether `event` (a parsed event envelope, or a {@link PreparedEvent}) matches
 * `pattern` (an object or its JSON text). Throws
 * {@link InvalidEventPatternError} when the pattern itself is invalid.
 */
export function matchesPattern(pattern: unknown, event: unknown): boolean {
  return compilePattern(pattern).matches(event);
}
