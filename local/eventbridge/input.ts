/**
 * What a rule target receives: the whole event, a constant `Input`, the part
 * of the event an `InputPath` names, or an `InputTransformer`'s template filled
 * from the event.
 *
 * JSON paths are the subset EventBridge documents: `$`, dot notation with
 * letters, digits, `-`, `_` and `/`, array indices `[n]`, bracketed names
 * `['a.b']`, and the wildcard `*` (which collects its matches into an array).
 *
 * Template filling, from the user guide's "Input transformation" page:
 * - A template that is a JSON object or array gets JSON where a placeholder
 *   stands outside quotes (`"id": <id>` -> `"id": "i-123"`, numbers and
 *   objects as JSON) and the bare text where it stands inside quotes
 *   (`"state \"<s>\""`); EventBridge does not escape values extracted by a
 *   path, so neither does this.
 * - Any other template (a quoted string, or free text) gets bare text.
 * - A path that matches nothing leaves its variable undefined: `null` outside
 *   quotes in a JSON template, nothing elsewhere (choice: AWS says only that
 *   the variable "won't appear in the output").
 * - Reserved variables: `aws.events.rule-arn`, `aws.events.rule-name`,
 *   `aws.events.event.ingestion-time` (ISO 8601), `aws.events.event` (the
 *   event without `detail`) and `aws.events.event.json` (the whole event).
 */
import type { RuleTargetSpec } from '../contracts';

// ---------------------------------------------------------------------------
// JSON paths
// ---------------------------------------------------------------------------

type Step = { readonly key: string } | { readonly index: number } | { readonly wildcard: true };

export class JsonPathError extends Error {
  override readonly name = 'JsonPathError';
}

export interface JsonPath {
  readonly text: string;
  /** The value the path names, or `undefined` when it names nothing. */
  select(value: unknown): unknown;
}

const NAME = /^[A-Za-z0-9_\-/]+/;

function parseSteps(text: string): Step[] {
  if (!text.startsWith('$')) throw new JsonPathError(`${text}: a path starts with $`);
  const steps: Step[] = [];
  let rest = text.slice(1);
  while (rest !== '') {
    if (rest.startsWith('.*')) {
      steps.push({ wildcard: true });
      rest = rest.slice(2);
    } else if (rest.startsWith('.')) {
      const name = NAME.exec(rest.slice(1))?.[0];
      if (name === undefined) throw new JsonPathError(`${text}: bad name after .`);
      steps.push({ key: name });
      rest = rest.slice(1 + name.length);
    } else if (rest.startsWith('[*]')) {
      steps.push({ wildcard: true });
      rest = rest.slice(3);
    } else {
      const index = /^\[(\d+)\]/.exec(rest);
      const quoted = /^\['([^']*)'\]/.exec(rest);
      if (index !== null) {
        steps.push({ index: Number(index[1]) });
        rest = rest.slice(index[0].length);
      } else if (quoted !== null) {
        steps.push({ key: quoted[1] ?? '' });
        rest = rest.slice(quoted[0].length);
      } else {
        throw new JsonPathError(`${text}: unsupported syntax at '${rest}'`);
      }
    }
  }
  return steps;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function children(value: unknown): unknown[] {
  if (Array.isArray(value)) return value;
  if (isRecord(value)) return Object.values(value);
  return [];
}

/** Compiles a JSON path; throws {@link JsonPathError} for syntax EventBridge does not take. */
export function compileJsonPath(text: string): JsonPath {
  const steps = parseSteps(text);
  const multiple = steps.some((step) => 'wildcard' in step);
  return {
    text,
    select(root: unknown): unknown {
      let current: unknown[] = [root];
      for (const step of steps) {
        const next: unknown[] = [];
        for (const value of current) {
          if ('wildcard' in step) next.push(...children(value));
          else if ('index' in step) {
            if (Array.isArray(value) && step.index < value.length) next.push(value[step.index]);
          } else if (isRecord(value) && Object.hasOwn(value, step.key)) {
            next.push(value[step.key]);
          }
        }
        current = next;
      }
      return multiple ? current : current[0];
    },
  };
}

// ---------------------------------------------------------------------------
// Target input
// ---------------------------------------------------------------------------

/** What a target's input is built from, beyond the event itself. */
export interface InputContext {
  readonly ruleArn: string;
  readonly ruleName: string;
  /** When EventBridge received the event, ISO 8601. */
  readonly ingestionTime: string;
}

export interface TargetInput {
  /** The text the target receives for `event` (a parsed event envelope). */
  render(event: Readonly<Record<string, unknown>>, context: InputContext): string;
}

const RESERVED = new Set([
  'aws.events.rule-arn',
  'aws.events.rule-name',
  'aws.events.event',
  'aws.events.event.ingestion-time',
  'aws.events.event.json',
]);

export class TargetInputError extends Error {
  override readonly name = 'TargetInputError';
}

function reserved(
  name: string,
  event: Readonly<Record<string, unknown>>,
  context: InputContext,
): unknown {
  switch (name) {
    case 'aws.events.rule-arn':
      return context.ruleArn;
    case 'aws.events.rule-name':
      return context.ruleName;
    case 'aws.events.event.ingestion-time':
      return context.ingestionTime;
    case 'aws.events.event': {
      const { detail: _detail, ...rest } = event;
      return rest;
    }
    default:
      return event;
  }
}

/** Bare text of a value: strings as they are, anything else as JSON. */
function bare(value: unknown): string {
  if (value === undefined) return '';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function compileTemplate(
  template: string,
  pathsMap: Readonly<Record<string, string>>,
  targetId: string,
): TargetInput {
  const paths = new Map<string, JsonPath>();
  for (const [name, path] of Object.entries(pathsMap)) {
    if (RESERVED.has(name)) {
      throw new TargetInputError(`target ${targetId}: ${name} is a reserved variable`);
    }
    paths.set(name, compileJsonPath(path));
  }
  const known = (name: string) => paths.has(name) || RESERVED.has(name);
  const json = /^\s*[[{]/.test(template);
  return {
    render(event, context) {
      const value = (name: string) => {
        const path = paths.get(name);
        return path === undefined ? reserved(name, event, context) : path.select(event);
      };
      let out = '';
      let inString = false;
      for (let i = 0; i < template.length; i += 1) {
        const ch = template[i] ?? '';
        if (ch === '\\' && inString) {
          out += ch + (template[i + 1] ?? '');
          i += 1;
          continue;
        }
        if (ch === '"') inString = !inString;
        if (ch === '<') {
          const end = template.indexOf('>', i + 1);
          const name = end < 0 ? '' : template.slice(i + 1, end);
          if (known(name)) {
            const v = value(name);
            if (json && !inString) out += v === undefined ? 'null' : JSON.stringify(v);
            else out += bare(v);
            i = end;
            continue;
          }
        }
        out += ch;
      }
      return out;
    },
  };
}

/**
 * Compiles what `target` receives. Throws {@link TargetInputError} or
 * {@link JsonPathError} for a target AWS would refuse at PutTargets.
 */
export function compileTargetInput(target: RuleTargetSpec): TargetInput {
  const given = [target.input, target.inputPath, target.inputTransformer].filter(
    (v) => v !== undefined,
  );
  if (given.length > 1) {
    throw new TargetInputError(
      `target ${target.id}: only one of Input, InputPath and InputTransformer may be set`,
    );
  }
  if (target.input !== undefined) {
    const constant = target.input;
    try {
      JSON.parse(constant);
    } catch (error) {
      throw new TargetInputError(`target ${target.id}: Input is not valid JSON`, { cause: error });
    }
    return { render: () => constant };
  }
  if (target.inputPath !== undefined) {
    const path = compileJsonPath(target.inputPath);
    return {
      render(event) {
        // A path naming nothing sends JSON null (choice; AWS does not document it).
        return JSON.stringify(path.select(event) ?? null);
      },
    };
  }
  if (target.inputTransformer !== undefined) {
    const { inputTemplate, inputPathsMap = {} } = target.inputTransformer;
    return compileTemplate(inputTemplate, inputPathsMap, target.id);
  }
  return { render: (event) => JSON.stringify(event) };
}
