/**
 * The app's job types module as `AsyncJobs` takes it (`jobTypes: { entry, environment }`):
 * what synth refuses, what it reads from the module, where the job code's
 * environment and permissions go, and that the functions that run job code are
 * bundled with the app's own types.
 */
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import type { NagPack } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AsyncJobs, type AsyncJobsJobTypes } from '../../infra/async-jobs';
import { BUNDLE_METADATA_KEY } from '../../infra/bundling';
import { REFERENCE_JOB_TYPES } from '../../infra/eventjobs-stack';
import { inspectJobTypesModule, JobTypesModuleError } from '../../infra/job-types';
import { addNagPacks } from '../../infra/nag';
import {
  arnOf,
  childOf,
  createApp,
  logicalId,
  PROJECT_ROOT,
  ref,
  schedulesIn,
  statementsOfRole,
} from './helpers';

/** What the fixtures import `defineJobType` from: the package's own entry point, by path. */
const EVENTJOBS = JSON.stringify(path.join(PROJECT_ROOT, 'src', 'index.ts'));

/** A Standard Schema written by hand: accepts anything, and has no JSON Schema to give. */
const HAND_SCHEMA = `{
  '~standard': { version: 1, vendor: 'fixture', validate: (value: unknown) => ({ value }) },
}`;

/** A job type of the given export name, type name and description, with the hand-written schema. */
const handType = (exportName: string, name: string, description = `The ${name} type.`) => `
export const ${exportName} = defineJobType({
  name: ${JSON.stringify(name)},
  description: ${JSON.stringify(description)},
  input: ${HAND_SCHEMA},
  async run() {
    return 'done';
  },
});
`;

/** Two types: one with a zod input (so a JSON Schema), one with the hand-written schema. */
const GOOD_MODULE = `
import { defineJobType } from ${EVENTJOBS};
import * as z from 'zod/mini';

export const resize = defineJobType({
  name: 'resize',
  description: 'Resizes an image (fixture marker 7f3a-resize).',
  defaultTimeoutSeconds: 60,
  input: z.object({ url: z.string(), width: z.number() }),
  async run({ width }) {
    return { width };
  },
});
${handType('ping', 'ping', 'Answers pong.')}
`;

let fixtures: string;

/**
 * The fixtures live in a temporary folder that resolves `zod` by its bare name, as an
 * app's folder does (a symlink to this repository's copy): the inspector converts a zod
 * schema with the zod it resolves from the module's own folder.
 */
beforeAll(() => {
  fixtures = mkdtempSync(path.join(tmpdir(), 'eventjobs-job-types-test-'));
  mkdirSync(path.join(fixtures, 'node_modules'));
  symlinkSync(
    path.join(PROJECT_ROOT, 'node_modules', 'zod'),
    path.join(fixtures, 'node_modules', 'zod'),
    'dir',
  );
});

afterAll(() => {
  rmSync(fixtures, { recursive: true, force: true });
});

/** Writes a fixture module; each test uses its own file (synth caches a module's check per path). */
function fixture(name: string, source: string): string {
  const file = path.join(fixtures, name);
  writeFileSync(file, source);
  return file;
}

function construct(jobTypes: AsyncJobsJobTypes): { stack: Stack; jobs: AsyncJobs } {
  const stack = new Stack(createApp(), 'JobTypesTest');
  const jobs = new AsyncJobs(stack, 'Jobs', { jobTypes });
  return { stack, jobs };
}

const roleIdOf = (fn: lambda.Function): string => {
  if (!fn.role) throw new Error(`${fn.node.id} has no role`);
  return logicalId(fn.role);
};

interface TemplateResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
  readonly Metadata?: Record<string, unknown>;
}

function resourcesOf(template: Template): Record<string, TemplateResource> {
  return (template.toJSON() as { Resources: Record<string, TemplateResource> }).Resources;
}

describe('the job types module', () => {
  it('is read for its types: names, descriptions, timeouts and a JSON Schema for zod inputs', () => {
    const entry = fixture('good.ts', GOOD_MODULE);

    const found = inspectJobTypesModule(entry);

    expect(found).toHaveLength(2);
    const resize = found.find((item) => item.exportName === 'resize');
    const ping = found.find((item) => item.exportName === 'ping');
    expect(resize).toMatchObject({
      isJobType: true,
      name: 'resize',
      description: 'Resizes an image (fixture marker 7f3a-resize).',
      defaultTimeoutSeconds: 60,
      vendor: 'zod',
    });
    expect(resize?.inputSchema).toMatchObject({
      type: 'object',
      properties: { url: { type: 'string' }, width: { type: 'number' } },
    });
    expect([...((resize?.inputSchema?.required as string[] | undefined) ?? [])].sort()).toEqual([
      'url',
      'width',
    ]);
    expect(ping).toMatchObject({
      isJobType: true,
      name: 'ping',
      description: 'Answers pong.',
      vendor: 'fixture',
    });
    // A schema library without JSON Schema support gives none; nothing is made up.
    expect(ping?.inputSchema).toBeUndefined();
  });

  it('with two types makes a stack whose three job-running functions know the module', () => {
    const entry = fixture('good-synth.ts', GOOD_MODULE);

    const { stack, jobs } = construct({ entry });

    const resources = resourcesOf(Template.fromStack(stack));
    const expected = path.relative(process.cwd(), entry).split(path.sep).join('/');
    for (const fn of [jobs.startJobFunction, jobs.workerFunction, jobs.completionFunction]) {
      expect(resources[logicalId(fn)]?.Metadata?.[BUNDLE_METADATA_KEY]).toMatchObject({
        jobTypesEntry: expected,
      });
    }
  });

  /** A module synth must refuse: its file name, its source, and what the error must say. */
  interface Refused {
    readonly file: string;
    readonly source: string;
    readonly says: readonly RegExp[];
  }

  const IMPORT = `import { defineJobType } from ${EVENTJOBS};\n`;

  it.each<[string, Refused]>([
    [
      'a non-job-type export',
      {
        file: 'extra-export.ts',
        source: `${IMPORT}${handType('ok', 'ok')}\nexport const helper = 42;\n`,
        says: [/export "helper" is not a job type/, /made with defineJobType/],
      },
    ],
    [
      'two exports with the same type name',
      {
        file: 'same-name.ts',
        source: `${IMPORT}${handType('first', 'same')}${handType('second', 'same')}`,
        says: [/exports "first" and "second" are both named "same"/],
      },
    ],
    [
      'a module that throws at load',
      {
        file: 'throws.ts',
        source: `${IMPORT}${handType('ok', 'ok')}\nthrow new Error('the fixture refuses to load');\n`,
        says: [/ failed to load: Error: the fixture refuses to load/],
      },
    ],
    [
      'a malformed defineJobType (it throws at load)',
      {
        file: 'malformed.ts',
        source: `${IMPORT}${handType('bad', 'has spaces')}`,
        says: [
          / failed to load: JobTypeDefinitionError: defineJobType\("has spaces"\): name must be/,
        ],
      },
    ],
    [
      'a syntax error',
      {
        file: 'syntax.ts',
        source: `${IMPORT}export const broken = defineJobType({ name: 'x', ;\n`,
        says: [/ does not compile: /, /syntax\.ts:2: /],
      },
    ],
    [
      'no exports at all',
      { file: 'empty.ts', source: 'export {};\n', says: [/ it exports no job types/] },
    ],
  ])('is refused at synth when it has %s', (_title, { file, source, says }) => {
    const entry = fixture(file, source);

    let thrown: unknown;
    try {
      construct({ entry });
    } catch (error) {
      thrown = error;
    }

    expect(thrown).toBeInstanceOf(Error);
    const message = (thrown as Error).message;
    expect(message).toMatch(/^AsyncJobs: jobTypes\.entry: the job types module /);
    expect(message).toContain(entry);
    for (const pattern of says) expect(message).toMatch(pattern);
  });

  it('is refused at synth when the file does not exist', () => {
    const entry = path.join(fixtures, 'no-such-jobs.ts');

    expect(() => construct({ entry })).toThrow(
      `AsyncJobs: jobTypes.entry: the job types module ${entry} does not exist`,
    );
    expect(() => inspectJobTypesModule(entry)).toThrow(JobTypesModuleError);
  });

  it('is required', () => {
    const missing = { entry: '' };

    expect(() => construct(missing)).toThrow(/jobTypes\.entry is required/);
  });
});

describe('jobTypes.environment', () => {
  it('is set on the worker and completion functions only', () => {
    const environment = { ASSETS_BUCKET: 'my-assets', GREETING_STYLE: 'formal' };

    const { stack, jobs } = construct({ entry: REFERENCE_JOB_TYPES, environment });

    const template = Template.fromStack(stack);
    for (const fn of jobs.jobRunners) {
      template.hasResource('AWS::Lambda::Function', {
        Properties: Match.objectLike({
          Description: (fn.node.defaultChild as lambda.CfnFunction).description,
          Environment: {
            Variables: Match.objectLike({
              ...environment,
              // eventjobs' own variables are kept next to the app's.
              JOBS_TABLE_NAME: Match.anyValue(),
              NODE_OPTIONS: '--enable-source-maps',
            }),
          },
        }),
      });
    }
    const functions = template.findResources('AWS::Lambda::Function', {
      Properties: { Environment: { Variables: Match.objectLike({ ASSETS_BUCKET: 'my-assets' }) } },
    });
    expect(Object.keys(functions).sort()).toEqual(
      [logicalId(jobs.workerFunction), logicalId(jobs.completionFunction)].sort(),
    );
  });

  it.each(['AWS_REGION', 'JOBS_TABLE_NAME', 'NODE_OPTIONS', 'AWS_LAMBDA_FUNCTION_NAME'])(
    'refuses the reserved name %s',
    (name) => {
      const environment = { [name]: 'x' };

      expect(() => construct({ entry: REFERENCE_JOB_TYPES, environment })).toThrow(
        `AsyncJobs: jobTypes.environment: ${name} is set by Lambda or by eventjobs itself`,
      );
    },
  );

  it.each(['1ST', 'WITH-DASH', 'has space', '', '_LEADING', 'X'])(
    'refuses the invalid name "%s"',
    (name) => {
      const environment = { [name]: 'x' };

      expect(() => construct({ entry: REFERENCE_JOB_TYPES, environment })).toThrow(
        `AsyncJobs: jobTypes.environment: "${name}" is not a valid variable name`,
      );
    },
  );

  it('refuses a value that is not a string', () => {
    const environment = { COUNT: 3 } as unknown as Record<string, string>;

    expect(() => construct({ entry: REFERENCE_JOB_TYPES, environment })).toThrow(
      'AsyncJobs: jobTypes.environment.COUNT must be a string',
    );
  });
});

describe('permissions for job code', () => {
  let template: Template;
  let jobs: AsyncJobs;
  let bucket: s3.Bucket;
  let topicArn: string;

  beforeAll(() => {
    const built = construct({ entry: REFERENCE_JOB_TYPES });
    jobs = built.jobs;
    bucket = new s3.Bucket(built.stack, 'Assets');
    topicArn = 'arn:aws:sns:eu-west-1:111122223333:job-news';
    jobs.grantToJobs((fn) => bucket.grantRead(fn));
    jobs.addToJobPolicy(
      new iam.PolicyStatement({ actions: ['sns:Publish'], resources: [topicArn] }),
    );
    template = Template.fromStack(built.stack);
  });

  const bucketArn = () => ({ 'Fn::GetAtt': [logicalId(bucket), 'Arn'] });
  const grantedRead = (roleId: string) =>
    statementsOfRole(template, roleId).filter((s) =>
      s.Action.some((action) => action.startsWith('s3:')),
    );

  it('grantToJobs gives the worker and completion roles the grant', () => {
    for (const fn of jobs.jobRunners) {
      const statements = grantedRead(roleIdOf(fn));
      expect(statements, fn.node.id).toHaveLength(1);
      expect(statements[0]?.Action).toEqual(expect.arrayContaining(['s3:GetObject*', 's3:List*']));
      expect(JSON.stringify(statements[0]?.Resource)).toContain(JSON.stringify(bucketArn()));
    }
  });

  it('grantToJobs gives no other function the grant', () => {
    const others = [
      jobs.startJobFunction,
      jobs.getJobFunction,
      jobs.listJobsFunction,
      jobs.cancelJobFunction,
      jobs.signalJobFunction,
      jobs.sweeperFunction,
    ];

    for (const fn of others) expect(grantedRead(roleIdOf(fn)), fn.node.id).toEqual([]);
    const bucketPolicies = template.findResources('AWS::IAM::Policy', {
      Properties: {
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Resource: Match.arrayWith([bucketArn()]) }),
          ]),
        },
      },
    });
    const roles = Object.values(bucketPolicies).flatMap((p) => p.Properties.Roles as unknown[]);
    expect(roles).toHaveLength(2);
    expect(roles).toEqual(
      expect.arrayContaining(jobs.jobRunners.map((fn) => ({ Ref: roleIdOf(fn) }))),
    );
  });

  it('addToJobPolicy adds the statement to the worker and completion roles only', () => {
    const publishers = Object.values(
      template.findResources('AWS::IAM::Policy', {
        Properties: {
          PolicyDocument: {
            Statement: Match.arrayWith([
              Match.objectLike({ Action: 'sns:Publish', Resource: topicArn }),
            ]),
          },
        },
      }),
    ).flatMap((p) => p.Properties.Roles as unknown[]);

    expect(publishers).toHaveLength(2);
    expect(publishers).toEqual(
      expect.arrayContaining(jobs.jobRunners.map((fn) => ({ Ref: roleIdOf(fn) }))),
    );
  });
});

describe('two AsyncJobs in one stack', () => {
  let app: ReturnType<typeof createApp>;
  let stack: Stack;
  let a: AsyncJobs;
  let b: AsyncJobs;
  let template: Template;
  let resources: Record<string, TemplateResource>;
  let packs: NagPack[];

  beforeAll(() => {
    app = createApp();
    packs = addNagPacks(app);
    stack = new Stack(app, 'TwoJobs');
    a = new AsyncJobs(stack, 'A', { jobTypes: { entry: REFERENCE_JOB_TYPES } });
    b = new AsyncJobs(stack, 'B', { jobTypes: { entry: REFERENCE_JOB_TYPES } });
    template = Template.fromStack(stack);
    resources = resourcesOf(template);
  });

  const ofType = (type: string) =>
    Object.entries(resources).filter(([, resource]) => resource.Type === type);

  it('synthesize, with the nag packs as validation plugins', () => {
    const synth = () => app.synth();

    expect(synth).not.toThrow();
  });

  it('have no unacknowledged cdk-nag finding', () => {
    const violations = packs.flatMap((pack) =>
      pack
        .validateScope(stack as IConstruct)
        .violations.flatMap((v) =>
          v.violatingResources.map((r) => `${v.ruleName} at ${r.constructPath ?? '?'}`),
        ),
    );

    expect(violations).toEqual([]);
  });

  it('have a table, a bus, an HTTP API and functions each', () => {
    const tables = ofType('AWS::DynamoDB::Table').map(([id]) => id);
    const buses = ofType('AWS::Events::EventBus').map(([id]) => id);
    const httpApis = ofType('AWS::ApiGatewayV2::Api')
      .filter(([, r]) => r.Properties?.ProtocolType === 'HTTP')
      .map(([id]) => id);

    expect(tables.sort()).toEqual([logicalId(a.table), logicalId(b.table)].sort());
    expect(buses.sort()).toEqual([logicalId(a.eventBus), logicalId(b.eventBus)].sort());
    expect(httpApis.sort()).toEqual([logicalId(a.api), logicalId(b.api)].sort());
    expect(ofType('AWS::Lambda::Function')).toHaveLength(20);
    expect(logicalId(a.workerFunction)).not.toBe(logicalId(b.workerFunction));
  });

  it('wire each worker to its own table and bus', () => {
    for (const [jobs, other] of [
      [a, b],
      [b, a],
    ] as const) {
      const variables = JSON.stringify(
        resources[logicalId(jobs.workerFunction)]?.Properties?.Environment,
      );
      expect(variables).toContain(JSON.stringify({ Ref: logicalId(jobs.table) }));
      expect(variables).toContain(JSON.stringify({ Ref: logicalId(jobs.eventBus) }));
      expect(variables).not.toContain(`"${logicalId(other.table)}"`);
      expect(variables).not.toContain(`"${logicalId(other.eventBus)}"`);
    }
  });

  it('give each its own timer group and timer role, wired to its own worker only', () => {
    const groupOf = (jobs: AsyncJobs) => childOf(jobs, 'TimerGroup', scheduler.CfnScheduleGroup);
    const timerRoleOf = (jobs: AsyncJobs) => childOf(jobs, 'TimerRole', iam.Role);
    const groups = ofType('AWS::Scheduler::ScheduleGroup').map(([id]) => id);
    expect(groups.sort()).toEqual([logicalId(groupOf(a)), logicalId(groupOf(b))].sort());
    const schedulerRoles = ofType('AWS::IAM::Role')
      .filter(([, r]) => JSON.stringify(r.Properties).includes('scheduler.amazonaws.com'))
      .map(([id]) => id);
    expect(schedulerRoles.sort()).toEqual(
      [logicalId(timerRoleOf(a)), logicalId(timerRoleOf(b))].sort(),
    );

    for (const jobs of [a, b]) {
      const group = groupOf(jobs);
      const role = timerRoleOf(jobs);
      const variables = resources[logicalId(jobs.workerFunction)]?.Properties?.Environment as {
        Variables: Record<string, unknown>;
      };
      expect(variables.Variables.TIMER_ROLE_ARN).toEqual(arnOf(role));
      expect(variables.Variables.TIMER_GROUP_NAME).toEqual(ref(group));
      // Its timer role invokes its own worker only.
      expect(statementsOfRole(template, logicalId(role))).toEqual([
        {
          Effect: 'Allow',
          Action: ['lambda:InvokeFunction'],
          Resource: [arnOf(jobs.workerFunction)],
        },
      ]);
      // Its worker makes schedules in its own group and passes its own timer role only.
      const resume = statementsOfRole(template, roleIdOf(jobs.workerFunction));
      expect(resume.filter((s) => s.Action.some((x) => x.startsWith('scheduler:')))).toEqual([
        { Effect: 'Allow', Action: ['scheduler:CreateSchedule'], Resource: [schedulesIn(group)] },
      ]);
      expect(resume.filter((s) => s.Action.includes('iam:PassRole'))).toEqual([
        {
          Effect: 'Allow',
          Action: ['iam:PassRole'],
          Resource: [arnOf(role)],
          Condition: { StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' } },
        },
      ]);
    }
  });

  it('set no physical name twice', () => {
    // The properties that name a resource uniquely in an account and region, where set.
    const uniqueNames: Record<string, string> = {
      'AWS::DynamoDB::Table': 'TableName',
      'AWS::Events::EventBus': 'Name',
      'AWS::Events::Rule': 'Name',
      'AWS::Lambda::Function': 'FunctionName',
      'AWS::IAM::Role': 'RoleName',
      'AWS::Logs::LogGroup': 'LogGroupName',
      'AWS::SQS::Queue': 'QueueName',
      'AWS::SecretsManager::Secret': 'Name',
      'AWS::CloudWatch::Alarm': 'AlarmName',
      'AWS::Scheduler::ScheduleGroup': 'Name',
    };

    const names = Object.values(resources).flatMap((resource) => {
      const property = uniqueNames[resource.Type];
      const value = property === undefined ? undefined : resource.Properties?.[property];
      return value === undefined ? [] : [`${resource.Type} ${JSON.stringify(value)}`];
    });

    // The two buses are named (EventBus requires a name), so the check has something to compare.
    expect(names.filter((name) => name.startsWith('AWS::Events::EventBus'))).toHaveLength(2);
    expect(names.length).toBe(new Set(names).size);
  });
});

describe('eventjobs:bundle metadata', () => {
  it('names the job types module (relative) on the three job-running functions only', () => {
    const { stack, jobs } = construct({ entry: REFERENCE_JOB_TYPES });

    const resources = resourcesOf(Template.fromStack(stack));
    const metadata = Object.fromEntries(
      Object.entries(resources)
        .filter(([, r]) => r.Type === 'AWS::Lambda::Function')
        .map(([id, r]) => [id, r.Metadata?.[BUNDLE_METADATA_KEY]]),
    );
    const entry = path.relative(process.cwd(), REFERENCE_JOB_TYPES).split(path.sep).join('/');
    expect(entry).toBe('functions/jobs/index.ts');
    const runners = {
      [logicalId(jobs.startJobFunction)]: { dir: 'start-job', jobTypesEntry: entry },
      [logicalId(jobs.workerFunction)]: { dir: 'worker', jobTypesEntry: entry },
      [logicalId(jobs.completionFunction)]: { dir: 'completion', jobTypesEntry: entry },
    };
    expect(Object.keys(metadata)).toHaveLength(10);
    for (const [id, value] of Object.entries(metadata)) {
      if (id in runners) {
        expect(value, id).toEqual(runners[id]);
      } else {
        expect(value, id).toEqual({ dir: expect.any(String) });
      }
    }
    expect(metadata[logicalId(jobs.getJobFunction)]).toEqual({ dir: 'get-job' });
    expect(metadata[logicalId(jobs.sweeperFunction)]).toEqual({ dir: 'sweeper' });
    // Signals never run job code: their function bundles no job types.
    expect(metadata[logicalId(jobs.signalJobFunction)]).toEqual({ dir: 'signal-job' });
  });
});

describe('a bundled synth', () => {
  it("builds the worker's bundle with the app's job types", () => {
    const entry = fixture('bundled.ts', GOOD_MODULE);
    const app = createApp({ bundle: true });
    // What the cdk CLI asks for: each function's asset folder in its resource's metadata.
    app.node.setContext('aws:cdk:enable-asset-metadata', true);
    const stack = new Stack(app, 'BundledJobs');
    const jobs = new AsyncJobs(stack, 'Jobs', { jobTypes: { entry } });

    const assembly = app.synth();

    const template = assembly.getStackByName(stack.stackName).template as {
      Resources: Record<string, TemplateResource>;
    };
    const bundleOf = (fn: lambda.Function): string => {
      const assetPath = template.Resources[logicalId(fn)]?.Metadata?.['aws:asset:path'];
      if (typeof assetPath !== 'string') throw new Error(`${fn.node.id} has no aws:asset:path`);
      const file = path.join(assembly.directory, assetPath, 'index.mjs');
      expect(existsSync(file), file).toBe(true);
      return readFileSync(file, 'utf8');
    };
    expect(bundleOf(jobs.workerFunction)).toContain('fixture marker 7f3a-resize');
    expect(bundleOf(jobs.completionFunction)).toContain('fixture marker 7f3a-resize');
    // The reference app's types are not bundled in their place.
    expect(bundleOf(jobs.workerFunction)).not.toContain('reporting progress about once a second');
    // A function that runs no job code does not carry them.
    expect(bundleOf(jobs.getJobFunction)).not.toContain('fixture marker 7f3a-resize');
  });
});
