/**
 * Writes the JSON Schemas of eventjobs' lifecycle events to `docs/events/`:
 * one per detail-type, generated from the zod schemas in `core/event-schemas.ts`,
 * and the EventBridge envelope around them. Run it after changing a detail
 * schema:
 *
 *     npx tsx scripts/event-schemas.ts
 *
 * `test/unit/core/event-contract.test.ts` regenerates them in memory and fails
 * when the files differ, so the published contract cannot drift from the code.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as z from 'zod/mini';
import {
  jobCancelledDetailSchema,
  jobCompletedDetailSchema,
  jobFailedDetailSchema,
  jobFinishedDetailSchema,
  jobProgressDetailSchema,
  jobQueuedDetailSchema,
  jobRejectedDetailSchema,
  jobStartedDetailSchema,
  jobTimedOutDetailSchema,
} from '../core/event-schemas';
import {
  EVENT_SOURCE,
  JOB_FINISHED_EVENT_TYPE,
  JOB_REJECTED_EVENT_TYPE,
  JobEventType,
} from '../core/events';

/** Where the schemas are published, relative to the repository's root. */
export const EVENT_SCHEMAS_DIR = 'docs/events';

/**
 * The contract's version, in each file's name and `$id`. Additive, optional
 * fields keep it; anything else is a new version published beside this one
 * (`docs/events/README.md`).
 */
export const EVENT_SCHEMA_VERSION = 'v1';

const DRAFT_2020_12 = 'https://json-schema.org/draft/2020-12/schema';

/** Every detail-type eventjobs puts: the run's lifecycle, then its recorded outcome. */
export type ContractDetailType =
  | JobEventType
  | typeof JOB_FINISHED_EVENT_TYPE
  | typeof JOB_REJECTED_EVENT_TYPE;
export const CONTRACT_DETAIL_TYPES: readonly ContractDetailType[] = [
  ...Object.values(JobEventType),
  JOB_FINISHED_EVENT_TYPE,
  JOB_REJECTED_EVENT_TYPE,
];

interface DetailContract {
  readonly schema: z.ZodMiniType;
  readonly description: string;
}

/** Every detail-type with its schema; `Record` makes a new detail-type fail to compile until it is here. */
const DETAILS: Readonly<Record<ContractDetailType, DetailContract>> = {
  [JobEventType.Queued]: {
    schema: jobQueuedDetailSchema,
    description:
      'A start was accepted over a concurrency limit; the run waits for a slot. Put by the start API (start-job).',
  },
  [JobEventType.Started]: {
    schema: jobStartedDetailSchema,
    description:
      'A worker attempt began the run (once per attempt; a continuation or a wake after a sleep puts none). Put by the worker.',
  },
  [JobEventType.Progress]: {
    schema: jobProgressDetailSchema,
    description:
      "The job's latest progress report, at most one per run every few seconds (throttled). Put by the worker.",
  },
  [JobEventType.Completed]: {
    schema: jobCompletedDetailSchema,
    description: 'Terminal: the job returned `result`. Put by the worker.',
  },
  [JobEventType.Failed]: {
    schema: jobFailedDetailSchema,
    description:
      'Terminal: the job threw `error` after all its attempts (`attempts` lists each when it was retried). ' +
      'Put by the worker, or by the completion function (`reportedBy: "completion"`) when the worker invocation itself failed.',
  },
  [JobEventType.Cancelled]: {
    schema: jobCancelledDetailSchema,
    description:
      'Terminal: a cancel request stopped the run. Put by the worker, by the cancel API for a run no worker was running ' +
      '(queued, sleeping or waiting for a signal), or by the sweeper when the worker was gone (`reportedBy`).',
  },
  [JobEventType.TimedOut]: {
    schema: jobTimedOutDetailSchema,
    description:
      'Terminal: the run passed its deadline, fell silent, never started, or waited in the queue too long. ' +
      'Put by the worker, or by the sweeper when the worker was gone (`reportedBy`).',
  },
  [JOB_FINISHED_EVENT_TYPE]: {
    schema: jobFinishedDetailSchema,
    description:
      'The outcome the completion function recorded: exactly one per run, however many terminal events raced for it, ' +
      'put once it is in the table (at least once: a retried put repeats the same run id). The event for your own targets. ' +
      'Put by the completion function.',
  },
  [JOB_REJECTED_EVENT_TYPE]: {
    schema: jobRejectedDetailSchema,
    description:
      'A trigger event or a schedule firing that started no job, with the reason: an unknown type, an input the ' +
      "type's schema refuses, a bad name or owner, a name another run holds (`deadLettered: true`: the construct " +
      "routes it to its start dead-letter queue, with the event), or a schedule's overlap policy skipping a firing " +
      '(`OverlapSkipped`, `deadLettered: false`). Put by the starter function.',
  },
};

/** `Job Timed Out` -> `job-timed-out`. */
export function kebabName(detailType: string): string {
  return detailType.toLowerCase().replaceAll(' ', '-');
}

/** The file a detail-type's schema is published in, within `EVENT_SCHEMAS_DIR`. */
export function detailSchemaFile(detailType: ContractDetailType): string {
  return `${kebabName(detailType)}.${EVENT_SCHEMA_VERSION}.schema.json`;
}

export const ENVELOPE_SCHEMA_FILE = `envelope.${EVENT_SCHEMA_VERSION}.schema.json`;

/**
 * A URN, not a URL: it names the contract without claiming a domain or a
 * hosting place, so it stays the same whoever serves the files and wherever
 * the repository moves. The version is part of it: v2 is another schema.
 */
export function schemaId(name: string): string {
  return `urn:eventjobs:events:${name}:${EVENT_SCHEMA_VERSION}`;
}

function detailSchema(detailType: ContractDetailType, contract: DetailContract): object {
  // `input`: objects stay open (no `additionalProperties: false`), so a consumer that
  // validates against v1 keeps accepting events that gained an optional field.
  const { $schema: _draft, ...generated } = z.toJSONSchema(contract.schema, {
    target: 'draft-2020-12',
    io: 'input',
  });
  return {
    $schema: DRAFT_2020_12,
    $id: schemaId(kebabName(detailType)),
    title: detailType,
    description: contract.description,
    ...generated,
  };
}

/** The EventBridge envelope (AWS-FACTS), with `detail` checked by its detail-type's schema. */
function envelopeSchema(): object {
  const detailTypes = CONTRACT_DETAIL_TYPES;
  return {
    $schema: DRAFT_2020_12,
    $id: schemaId('envelope'),
    title: 'eventjobs event',
    description:
      `An event eventjobs puts on its EventBridge bus, as a rule's target receives it. ` +
      `\`detail\` follows the schema of its \`detail-type\` (the other files of ${EVENT_SCHEMAS_DIR}/, ` +
      'referred to by `$id`); load them beside this one.',
    type: 'object',
    properties: {
      version: { const: '0', description: 'The envelope version EventBridge sets.' },
      id: { type: 'string', format: 'uuid', description: 'Unique per event, set by EventBridge.' },
      'detail-type': { enum: detailTypes },
      source: { const: EVENT_SOURCE },
      account: { type: 'string', pattern: '^[0-9]{12}$' },
      time: {
        type: 'string',
        format: 'date-time',
        description: 'When the event was put, to the second (YYYY-MM-DDTHH:MM:SSZ).',
      },
      region: { type: 'string', minLength: 1 },
      resources: {
        type: 'array',
        items: { type: 'string' },
        description: 'Empty: eventjobs names no resources.',
      },
      detail: { type: 'object' },
    },
    required: [
      'version',
      'id',
      'detail-type',
      'source',
      'account',
      'time',
      'region',
      'resources',
      'detail',
    ],
    // One branch per detail-type: its name picks the schema its detail must meet.
    oneOf: detailTypes.map((detailType) => ({
      properties: {
        'detail-type': { const: detailType },
        detail: { $ref: schemaId(kebabName(detailType)) },
      },
    })),
  };
}

/** Every file of `EVENT_SCHEMAS_DIR` this script writes, by name, as it would write it. */
export function eventSchemaFiles(): ReadonlyMap<string, object> {
  const files = new Map<string, object>([[ENVELOPE_SCHEMA_FILE, envelopeSchema()]]);
  for (const detailType of CONTRACT_DETAIL_TYPES) {
    files.set(detailSchemaFile(detailType), detailSchema(detailType, DETAILS[detailType]));
  }
  return files;
}

/** A file's text before Biome lays it out: 2-space JSON with a final newline. */
function schemaText(schema: object): string {
  return `${JSON.stringify(schema, null, 2)}\n`;
}

async function main(): Promise<void> {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const dir = join(root, EVENT_SCHEMAS_DIR);
  await mkdir(dir, { recursive: true });
  const written: string[] = [];
  for (const [name, schema] of eventSchemaFiles()) {
    await writeFile(join(dir, name), schemaText(schema));
    written.push(join(dir, name));
    console.log(`wrote ${EVENT_SCHEMAS_DIR}/${name}`);
  }
  // In the layout `npm run lint` checks; the test compares the parsed JSON, not the text.
  execFileSync(join(root, 'node_modules/.bin/biome'), ['format', '--write', ...written], {
    cwd: root,
    stdio: 'inherit',
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await main();
}
