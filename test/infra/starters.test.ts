/**
 * Triggers and schedules (`AsyncJobs.startOn`, `AsyncJobs.schedule`): what
 * synth refuses, the starter function and its permissions, each trigger's
 * rule target and each schedule as CloudFormation receives them, and the
 * configuration they carry, decoded as the starter function decodes it.
 */
import { CfnParameter, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { describe, expect, it } from 'vitest';
import type { OwnerModel } from '../../core/limits';
import { decodeStarter, STARTER_KEY, type StarterConfig } from '../../core/triggers';
import {
  AsyncJobs,
  eventPath,
  type ScheduleOptions,
  type StartOnOptions,
} from '../../infra/async-jobs';
import { REFERENCE_JOB_TYPES } from '../../infra/eventjobs-stack';
import type { Starters } from '../../infra/starters';
import { arnOf, createApp, createStack, logicalId, ref, statementsOfRole } from './helpers';

const ALICE = 'arn:aws:iam::123456789012:user/alice';

function jobsStack(ownerModel?: OwnerModel) {
  const stack = new Stack(createApp(), 'StartersTest');
  const jobs = new AsyncJobs(stack, 'Jobs', {
    jobTypes: { entry: REFERENCE_JOB_TYPES },
    ...(ownerModel ? { ownerModel } : {}),
  });
  return { stack, jobs };
}

const trigger = (overrides: Partial<StartOnOptions> = {}): StartOnOptions => ({
  id: 'orders',
  type: 'echo',
  owner: ALICE,
  ...overrides,
});

const schedule = (overrides: Partial<ScheduleOptions> = {}): ScheduleOptions => ({
  type: 'sleep',
  expression: 'cron(0 6 * * ? *)',
  input: { seconds: 1 },
  owner: ALICE,
  ...overrides,
});

const PATTERN = { eventPattern: { source: ['shop.orders'] } };

function startersOf(jobs: AsyncJobs): Starters {
  const starters = jobs.starters;
  if (!starters) throw new Error('no trigger or schedule was added');
  return starters;
}

/** The rule target of the starter function on the rule with this logical id. */
function starterTarget(template: Template, ruleId: string, starter: lambda.IFunction) {
  const rule = template.findResources('AWS::Events::Rule')[ruleId];
  const targets = (rule?.Properties.Targets ?? []) as Array<Record<string, unknown>>;
  const target = targets.find((t) => JSON.stringify(t.Arn) === JSON.stringify(arnOf(starter)));
  if (!target) throw new Error(`rule ${ruleId} has no target on the starter function`);
  return target as {
    InputTransformer: { InputPathsMap: Record<string, string>; InputTemplate: unknown };
    [key: string]: unknown;
  };
}

/**
 * A payload as CloudFormation writes it: JSON text, or a `Fn::Join` of JSON text
 * and the values it resolves at deploy. Each such value, a whole JSON string of
 * the payload, comes back as its intrinsic (`{ "Fn::GetAtt": [...] }`), and a
 * rule target's `<f1>` (where the event goes) as the string "<f1>".
 */
function payloadOf(written: unknown): Record<string, unknown> {
  const intrinsics: unknown[] = [];
  let text: string;
  if (typeof written === 'string') {
    text = written;
  } else {
    const join = (written as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join'];
    if (join?.[0] !== '') throw new Error(`not a payload: ${JSON.stringify(written)}`);
    text = join[1]
      .map((part) =>
        typeof part === 'string' ? part : `@@intrinsic-${intrinsics.push(part) - 1}@@`,
      )
      .join('');
  }
  return JSON.parse(text.replaceAll('<f1>', '"<f1>"'), (_key, value: unknown) => {
    if (typeof value !== 'string' || !value.includes('@@intrinsic-')) return value;
    const whole = /^@@intrinsic-(\d+)@@$/.exec(value);
    if (!whole) throw new Error(`a deploy-time value inside a string: ${value}`);
    return intrinsics[Number(whole[1])];
  }) as Record<string, unknown>;
}

/** The payload of the starter's target on this rule. */
function triggerPayloadOf(template: Template, rule: events.Rule, starter: lambda.IFunction) {
  return payloadOf(
    starterTarget(template, logicalId(rule), starter).InputTransformer.InputTemplate,
  );
}

/** The configuration a payload carries, as the starter decodes it. */
function configOf(payload: Record<string, unknown>): StarterConfig {
  return decodeStarter(payload[STARTER_KEY]);
}

/** The only AWS::Scheduler::Schedule of the template. */
function theSchedule(template: Template) {
  const schedules = Object.values(template.findResources('AWS::Scheduler::Schedule'));
  expect(schedules).toHaveLength(1);
  return schedules[0]?.Properties as {
    Target: { Input: unknown; [key: string]: unknown };
    [key: string]: unknown;
  };
}

/** The payload the only schedule of the template delivers on each firing. */
function schedulePayloadOf(template: Template): Record<string, unknown> {
  return payloadOf(theSchedule(template).Target.Input);
}

describe('AsyncJobs.startOn: what synth refuses', () => {
  it.each<[string, Partial<StartOnOptions>, RegExp]>([
    [
      'an id with a dot',
      { id: 'a.b' },
      /startOn: id "a\.b" must be 1 to 64 characters of A-Z a-z 0-9 _ -/,
    ],
    ['an id starting with -', { id: '-a' }, /id "-a" must be 1 to 64 characters/],
    ['an empty id', { id: '' }, /id "" must be 1 to 64 characters/],
    ['an id of 65 characters', { id: 'a'.repeat(65) }, /must be 1 to 64 characters/],
    [
      'a type that is no job type',
      { type: 'nope' },
      /AsyncJobs\.startOn\(orders\): type "nope" is not a job type of jobTypes\.entry \(.*echo.*\)/,
    ],
    [
      'a type path that is no path',
      { type: { path: 'detail.type' } },
      /startOn\(orders\): type: The path "detail\.type" does not start with \$/,
    ],
    [
      'a name that is no path',
      { name: 'fixed' as never },
      /startOn\(orders\): name must be eventPath\(\.\.\.\)/,
    ],
    [
      'a name path with a wildcard',
      { name: { path: '$.detail.*' } },
      /startOn\(orders\): name: The path "\$\.detail\.\*" is not a JSON path/,
    ],
    [
      'an input path nested in a mapping',
      { input: { value: { deep: [{ path: '$..x' }] } } },
      /startOn\(orders\): input: The path "\$\.\.x" is not a JSON path/,
    ],
    [
      'a service principal as owner',
      { owner: 'events.amazonaws.com' },
      /owner "events\.amazonaws\.com" is not the ARN of an IAM user or role/,
    ],
    ['the wildcard as owner', { owner: '*' }, /owner "\*" is not the ARN/],
    [
      'an account root as owner',
      { owner: 'arn:aws:iam::123456789012:root' },
      /is not the ARN of an IAM user or role/,
    ],
    [
      'an owner path that is no path',
      { owner: { path: 'owner' } },
      /startOn\(orders\): owner: The path "owner" does not start with \$/,
    ],
    [
      'a timeout of 0',
      { timeoutSeconds: 0 },
      /timeoutSeconds must be a whole number from 1 to 2592000/,
    ],
    ['a fractional timeout', { timeoutSeconds: 1.5 }, /timeoutSeconds must be a whole number/],
    [
      'a timeout over 30 days',
      { timeoutSeconds: 2_592_001 },
      /timeoutSeconds must be a whole number/,
    ],
    [
      'an input mapping too large for an input template',
      { input: { value: 'x'.repeat(6500) } },
      /the trigger's target input template would take \d+ characters; EventBridge takes 8192/,
    ],
  ])('%s', (_what, overrides, message) => {
    // Prepare
    const { jobs } = jobsStack();

    // Act
    const act = () => jobs.startOn(PATTERN, trigger(overrides));

    // Assess
    expect(act).toThrow(message);
  });

  it('a pattern that names nothing would match every event', () => {
    // Prepare
    const { jobs } = jobsStack();

    // Act
    const act = () => jobs.startOn({ eventPattern: {} }, trigger());

    // Assess
    expect(act).toThrow(/startOn\(orders\): eventPattern matches every event/);
  });

  it('eventPath refuses a path when it is written', () => {
    // Act
    const act = () => eventPath('$.detail[*]');

    // Assess
    expect(act).toThrow('The path "$.detail[*]" is not a JSON path');
    expect(eventPath("$.detail['a.b']")).toEqual({ path: "$.detail['a.b']" });
  });

  it('an input mapping just within an input template is taken', () => {
    // Prepare
    const { jobs } = jobsStack();

    // Act
    const act = () => jobs.startOn(PATTERN, trigger({ input: { value: 'x'.repeat(5000) } }));

    // Assess
    expect(act).not.toThrow();
  });
});

describe('AsyncJobs.schedule: what synth refuses', () => {
  it.each<[string, string, Partial<ScheduleOptions>, RegExp]>([
    ['an id with a space', 'a b', {}, /AsyncJobs\.schedule: id "a b" must be 1 to 64 characters/],
    [
      'a type that is no job type',
      'nightly',
      { type: 'nope' },
      /schedule\(nightly\): type "nope" is not a job type/,
    ],
    [
      'an owner that is no principal',
      'nightly',
      { owner: 'arn:aws:iam::123456789012:group/devs' },
      /schedule\(nightly\): owner ".*group\/devs" is not the ARN/,
    ],
    [
      'a timeout of 0',
      'nightly',
      { timeoutSeconds: 0 },
      /schedule\(nightly\): timeoutSeconds must be a whole number/,
    ],
    [
      'an expression Scheduler refuses',
      'nightly',
      { expression: 'every day at 6' },
      /schedule\(nightly\): expression "every day at 6" in time zone "UTC" is not valid/,
    ],
    [
      'a cron with both day fields',
      'nightly',
      { expression: 'cron(0 6 * * * *)' },
      /expression "cron\(0 6 \* \* \* \*\)" .* is not valid/,
    ],
    [
      'a rate of zero',
      'nightly',
      { expression: 'rate(0 minutes)' },
      /expression "rate\(0 minutes\)" .* is not valid/,
    ],
    [
      'a time zone that is none',
      'nightly',
      { timezone: 'Mars/Olympus_Mons' },
      /in time zone "Mars\/Olympus_Mons" is not valid: Invalid time zone/,
    ],
    [
      'a name with an unknown field',
      'nightly',
      { name: 'run-{date}' },
      /schedule\(nightly\): name "run-\{date\}" has \{date\}/,
    ],
    [
      'a name that is no job name',
      'nightly',
      { name: 'run:{scheduledTime}' },
      /schedule\(nightly\): name "run:\{scheduledTime\}" gives ".*", which is not a job name/,
    ],
    [
      'a name too long once filled',
      'nightly',
      { name: `${'n'.repeat(120)}{scheduledTime}` },
      /which is not a job name/,
    ],
    [
      'an overlap that is no policy',
      'nightly',
      { overlap: 'queue' as never },
      /schedule\(nightly\): overlap must be "skip" or "allow", got "queue"/,
    ],
    [
      'an input that is no JSON',
      'nightly',
      { input: () => 1 },
      /schedule\(nightly\): input must be JSON/,
    ],
  ])('%s', (_what, id, overrides, message) => {
    // Prepare
    const { jobs } = jobsStack();

    // Act
    const act = () => jobs.schedule(id, schedule(overrides));

    // Assess
    expect(act).toThrow(message);
  });

  it('accepts at(), rate() and cron() expressions in a time zone', () => {
    // Prepare
    const { jobs } = jobsStack();

    // Act
    const act = () => {
      jobs.schedule(
        'once',
        schedule({ expression: 'at(2027-01-01T09:00:00)', timezone: 'Europe/Paris' }),
      );
      jobs.schedule('hourly', schedule({ expression: 'rate(1 hour)' }));
      jobs.schedule(
        'weekdays',
        schedule({ expression: 'cron(30 8 ? * MON-FRI *)', timezone: 'America/New_York' }),
      );
    };

    // Assess
    expect(act).not.toThrow();
  });
});

describe('ids of triggers and schedules', () => {
  it('are unique across startOn and schedule', () => {
    // Prepare
    const { jobs } = jobsStack();
    jobs.startOn(PATTERN, trigger({ id: 'shared' }));

    // Act
    const asSchedule = () => jobs.schedule('shared', schedule());
    const asTrigger = () => jobs.startOn(PATTERN, trigger({ id: 'shared' }));

    // Assess
    expect(asSchedule).toThrow(
      'AsyncJobs.schedule: id "shared" is already a trigger or schedule of this construct',
    );
    expect(asTrigger).toThrow(
      'AsyncJobs.startOn: id "shared" is already a trigger or schedule of this construct',
    );
  });

  it('a schedule id taken first is refused to a trigger', () => {
    // Prepare
    const { jobs } = jobsStack();
    jobs.schedule('nightly', schedule());

    // Act
    const act = () => jobs.startOn(PATTERN, trigger({ id: 'nightly' }));

    // Assess
    expect(act).toThrow(/id "nightly" is already a trigger or schedule/);
  });

  it('triggers without an id are Trigger1, Trigger2... and their rules say so', () => {
    // Prepare
    const { stack, jobs } = jobsStack();

    // Act
    const first = jobs.startOn(PATTERN, trigger({ id: undefined }));
    const second = jobs.startOn(
      { eventPattern: { source: ['other'] } },
      trigger({ id: undefined }),
    );

    // Assess
    const template = Template.fromStack(stack);
    const starter = startersOf(jobs).starterFunction;
    const ids = [first, second].map(
      (rule) => configOf(triggerPayloadOf(template, rule, starter)).id,
    );
    expect(ids).toEqual(['Trigger1', 'Trigger2']);
    expect([first, second].map((rule) => rule.node.path)).toEqual([
      'StartersTest/Jobs/Triggers/Trigger1',
      'StartersTest/Jobs/Triggers/Trigger2',
    ]);
  });

  it('a default id is the first Trigger<n> no explicit id or schedule has taken', () => {
    // Prepare
    const { jobs } = jobsStack();
    jobs.startOn(PATTERN, trigger({ id: 'Trigger1' }));
    jobs.schedule('Trigger3', schedule());

    // Act
    const ids = [1, 2, 3].map(() => jobs.startOn(PATTERN, trigger({ id: undefined })).node.id);

    // Assess
    expect(ids).toEqual(['Trigger2', 'Trigger4', 'Trigger5']);
  });

  it('an explicit id a default one took is refused', () => {
    // Prepare
    const { jobs } = jobsStack();
    jobs.startOn(PATTERN, trigger({ id: undefined }));

    // Act
    const act = () => jobs.startOn(PATTERN, trigger({ id: 'Trigger1' }));

    // Assess
    expect(act).toThrow('AsyncJobs.startOn: id "Trigger1" is already a trigger or schedule');
  });

  // Every id the pattern allows must synthesize: the rules and schedules live in scopes
  // of their own (`Triggers`, `ScheduledJobs`), apart from the construct's own children,
  // so neither `s` nor `Role` meets `Schedules` or `ScheduleRole` as `Schedule<id>` did.
  const OWN_IDS = [
    'Schedules',
    'ScheduleRole',
    'Triggers',
    'ScheduledJobs',
    'StartFromEvent',
    'RejectedRule',
  ];

  it.each(['s', 'Role', ...OWN_IDS])('the trigger id %j synthesizes like any other', (id) => {
    // Prepare
    const { stack, jobs } = jobsStack();

    // Act
    const rule = jobs.startOn(PATTERN, trigger({ id }));
    const template = Template.fromStack(stack);

    // Assess
    expect(rule.node.path).toBe(`StartersTest/Jobs/Triggers/${id}`);
    const payload = triggerPayloadOf(template, rule, startersOf(jobs).starterFunction);
    expect(configOf(payload)).toMatchObject({ kind: 'trigger', id });
    expect(startersOf(jobs).rejectedRule.node.path).toBe('StartersTest/Jobs/RejectedRule');
  });

  it.each(['s', 'Role', ...OWN_IDS])('the schedule id %j synthesizes like any other', (id) => {
    // Prepare
    const { stack, jobs } = jobsStack();

    // Act
    const scheduled = jobs.schedule(id, schedule());
    const template = Template.fromStack(stack);

    // Assess
    expect(scheduled.node.path).toBe(`StartersTest/Jobs/ScheduledJobs/${id}`);
    expect(configOf(schedulePayloadOf(template))).toMatchObject({ kind: 'schedule', id });
    expect(startersOf(jobs).scheduleGroup.node.path).toBe('StartersTest/Jobs/Schedules');
    expect(startersOf(jobs).scheduleRole.node.path).toBe('StartersTest/Jobs/ScheduleRole');
  });
});

describe('owners at synth', () => {
  const ROLE = 'arn:aws:iam::123456789012:role/ops/Deployer';
  const ASSUMED_ROLE = 'arn:aws:sts::123456789012:assumed-role/Deployer';
  const SESSION = 'arn:aws:sts::123456789012:assumed-role/Deployer/alice@example.com';

  it.each([ALICE, ROLE, ASSUMED_ROLE, SESSION])(
    'under principal, %s owns jobs of triggers and schedules',
    (owner) => {
      // Prepare
      const { jobs } = jobsStack('principal');

      // Act
      const act = () => {
        jobs.startOn(PATTERN, trigger({ owner }));
        jobs.schedule('nightly', schedule({ owner }));
      };

      // Assess
      expect(act).not.toThrow();
    },
  );

  it.each([ALICE, SESSION])('under session, %s owns jobs of triggers and schedules', (owner) => {
    // Prepare
    const { jobs } = jobsStack('session');

    // Act
    const act = () => {
      jobs.startOn(PATTERN, trigger({ owner }));
      jobs.schedule('nightly', schedule({ owner }));
    };

    // Assess
    expect(act).not.toThrow();
  });

  // Under session every caller is one session: jobs a role as a whole owned would be no one's.
  it.each([ROLE, 'arn:aws:iam::123456789012:role/Deployer', ASSUMED_ROLE])(
    'under session, %s is refused, saying why',
    (owner) => {
      // Prepare
      const { jobs } = jobsStack('session');

      // Act
      const asTrigger = () => jobs.startOn(PATTERN, trigger({ owner }));
      const asSchedule = () => jobs.schedule('nightly', schedule({ owner }));

      // Assess
      const why =
        'is not the ARN of an IAM user or an assumed-role session; with ownerModel session a role as a whole owns no jobs';
      expect(asTrigger).toThrow(`AsyncJobs.startOn(orders): owner "${owner}" ${why}`);
      expect(asSchedule).toThrow(`AsyncJobs.schedule(nightly): owner "${owner}" ${why}`);
    },
  );

  it.each<OwnerModel>(['principal', 'session'])(
    "under %s, a role's ARN as a token is left to CloudFormation (and the starter's check)",
    (ownerModel) => {
      // Prepare
      const { stack, jobs } = jobsStack(ownerModel);
      const role = new iam.Role(stack, 'Owner', { assumedBy: new iam.AccountRootPrincipal() });

      // Act
      const act = () => {
        jobs.startOn(PATTERN, trigger({ owner: role.roleArn }));
        jobs.schedule('nightly', schedule({ owner: role.roleArn }));
      };

      // Assess
      expect(act).not.toThrow();
    },
  );
});

describe('owners and inputs given as tokens', () => {
  // The configuration travels base64-encoded, where CloudFormation cannot see a token to
  // resolve it: a token travels beside it, in the payload, or is refused at synth.
  it("a schedule's owner from a role's ARN travels beside the configuration, resolved at deploy", () => {
    // Prepare
    const { stack, jobs } = jobsStack();
    const role = new iam.Role(stack, 'Owner', { assumedBy: new iam.AccountRootPrincipal() });

    // Act
    jobs.schedule('nightly', schedule({ owner: role.roleArn }));

    // Assess
    const payload = schedulePayloadOf(Template.fromStack(stack));
    expect(payload).toEqual({
      [STARTER_KEY]: expect.stringMatching(/^[A-Za-z0-9_-]+$/),
      owner: arnOf(role),
      input: { seconds: 1 },
      scheduledTime: '<aws.scheduler.scheduled-time>',
      executionId: '<aws.scheduler.execution-id>',
    });
    expect(configOf(payload)).not.toHaveProperty('owner');
    expect(JSON.stringify(configOf(payload))).not.toContain('Token[');
  });

  it("a trigger's fixed owner from a role's ARN travels beside the configuration, resolved at deploy", () => {
    // Prepare
    const { stack, jobs } = jobsStack();
    const role = new iam.Role(stack, 'Owner', { assumedBy: new iam.AccountRootPrincipal() });

    // Act
    const rule = jobs.startOn(PATTERN, trigger({ owner: role.roleArn }));

    // Assess
    const template = Template.fromStack(stack);
    const payload = triggerPayloadOf(template, rule, startersOf(jobs).starterFunction);
    expect(payload).toEqual({
      [STARTER_KEY]: expect.stringMatching(/^[A-Za-z0-9_-]+$/),
      owner: arnOf(role),
      event: '<f1>',
    });
    expect(configOf(payload)).toEqual({
      kind: 'trigger',
      id: 'orders',
      type: 'echo',
      owner: { fixed: true },
    });
  });

  it("a schedule's input with a bucket's name travels beside the configuration, resolved at deploy", () => {
    // Prepare
    const { stack, jobs } = jobsStack();
    const bucket = new s3.Bucket(stack, 'Reports');

    // Act
    jobs.schedule('nightly', schedule({ type: 'echo', input: { value: bucket.bucketName } }));

    // Assess
    const payload = schedulePayloadOf(Template.fromStack(stack));
    expect(payload).toMatchObject({ owner: ALICE, input: { value: ref(bucket) } });
    expect(JSON.stringify(configOf(payload))).not.toContain('Token[');
  });

  it.each<[string, (stack: Stack) => StartOnOptions['input']]>([
    ["a bucket's name", (stack) => ({ value: new s3.Bucket(stack, 'Reports').bucketName })],
    [
      "a bucket's name inside a string, in an array",
      (stack) => ({ value: [`s3://${new s3.Bucket(stack, 'Reports').bucketName}/in`] }),
    ],
    [
      'a number parameter',
      (stack) => ({ value: { n: new CfnParameter(stack, 'N', { type: 'Number' }).valueAsNumber } }),
    ],
    [
      'a list parameter',
      (stack) => ({
        value: new CfnParameter(stack, 'L', { type: 'CommaDelimitedList' }).valueAsList,
      }),
    ],
  ])("a trigger's input with a token (%s) is refused", (_what, input) => {
    // Prepare
    const { stack, jobs } = jobsStack();

    // Act
    const act = () => jobs.startOn(PATTERN, trigger({ input: input(stack) }));

    // Assess
    expect(act).toThrow(/^AsyncJobs\.startOn\(orders\): input has a token/);
  });
});

describe('the starter function', () => {
  function withTrigger() {
    const { stack, jobs } = jobsStack();
    jobs.startOn(PATTERN, trigger());
    const starters = startersOf(jobs);
    return { stack, jobs, starters, template: Template.fromStack(stack) };
  }

  it('may do what start-job does, put events on the construct bus, and send to its dead-letter queue: nothing else', () => {
    // Prepare
    const { jobs, starters, template } = withTrigger();
    const fn = starters.starterFunction;
    const logs = jobs.node.findChild('StartFromEventLogs');

    // Act
    const statements = statementsOfRole(template, logicalId(fn.role as iam.Role));

    // Assess
    expect(statements).toEqual([
      {
        Effect: 'Allow',
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        Resource: [arnOf(logs)],
      },
      {
        Effect: 'Allow',
        Action: [
          'dynamodb:BatchGetItem',
          'dynamodb:DeleteItem',
          'dynamodb:GetItem',
          'dynamodb:PutItem',
          'dynamodb:Query',
          'dynamodb:UpdateItem',
        ],
        Resource: [arnOf(jobs.table)],
      },
      {
        Effect: 'Allow',
        Action: ['lambda:InvokeFunction'],
        Resource: [arnOf(jobs.workerFunction)],
      },
      { Effect: 'Allow', Action: ['events:PutEvents'], Resource: [arnOf(jobs.eventBus)] },
      {
        Effect: 'Allow',
        Action: ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'],
        Resource: ['*'],
      },
      {
        Effect: 'Allow',
        Action: ['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage'],
        Resource: [arnOf(starters.deadLetterQueue)],
      },
    ]);
  });

  it('reads its settings from its environment and sends failed invocations to the start dead-letter queue', () => {
    // Prepare
    const { jobs, starters, template } = withTrigger();

    // Assess
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: 'eventjobs: starts jobs from trigger rules and schedules',
      Timeout: 30,
      Environment: {
        Variables: Match.objectLike({
          JOBS_TABLE_NAME: ref(jobs.table),
          WORKER_FUNCTION_NAME: ref(jobs.workerFunction),
          EVENT_BUS_NAME: ref(jobs.eventBus),
          OWNER_MODEL: 'principal',
          MAX_INPUT_BYTES: Match.stringLikeRegexp('^\\d+$'),
          MAX_EVENT_BYTES: Match.stringLikeRegexp('^\\d+$'),
          OUTCOME_RETENTION_SECONDS: Match.stringLikeRegexp('^\\d+$'),
        }),
      },
    });
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: ref(starters.starterFunction),
      MaximumRetryAttempts: 2,
      MaximumEventAgeInSeconds: 6 * 3600,
      DestinationConfig: { OnFailure: { Destination: arnOf(starters.deadLetterQueue) } },
    });
  });

  it('routes Job Rejected that is dead-lettered from the construct bus to the start dead-letter queue, which alarms', () => {
    // Prepare
    const { jobs, starters, template } = withTrigger();

    // Assess
    template.hasResourceProperties('AWS::Events::Rule', {
      EventBusName: ref(jobs.eventBus),
      EventPattern: {
        source: ['eventjobs'],
        'detail-type': ['Job Rejected'],
        detail: { deadLettered: [true] },
      },
      Targets: [
        Match.objectLike({
          Arn: arnOf(starters.deadLetterQueue),
          DeadLetterConfig: { Arn: arnOf(jobs.ruleDeadLetterQueue) },
        }),
      ],
    });
    expect(starters.rejectedRule.node.scope).toBe(jobs);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Namespace: 'AWS/SQS',
      Dimensions: [
        {
          Name: 'QueueName',
          Value: { 'Fn::GetAtt': [logicalId(starters.deadLetterQueue), 'QueueName'] },
        },
      ],
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
    });
    template.hasResourceProperties('AWS::SQS::Queue', {
      MessageRetentionPeriod: 14 * 86_400,
      SqsManagedSseEnabled: true,
    });
  });

  it('is built once, however many triggers and schedules there are', () => {
    // Prepare
    const { stack, jobs } = jobsStack();
    jobs.startOn(PATTERN, trigger({ id: 'a' }));
    jobs.startOn(PATTERN, trigger({ id: 'b' }));
    jobs.schedule('c', schedule());
    jobs.schedule('d', schedule());

    // Act
    const template = Template.fromStack(stack);

    // Assess
    const starterFunctions = template.findResources('AWS::Lambda::Function', {
      Properties: { Description: 'eventjobs: starts jobs from trigger rules and schedules' },
    });
    expect(Object.keys(starterFunctions)).toEqual([logicalId(startersOf(jobs).starterFunction)]);
    template.resourceCountIs('AWS::Scheduler::Schedule', 2);
    expect(
      Object.keys(
        template.findResources('AWS::Events::Rule', {
          Properties: { EventPattern: { 'detail-type': ['Job Rejected'] } },
        }),
      ),
    ).toHaveLength(1);
  });

  it('does not exist in a stack with no trigger and no schedule', () => {
    // Prepare
    const { stack, jobs } = jobsStack();

    // Act
    const template = Template.fromStack(stack);

    // Assess
    expect(jobs.starters).toBeUndefined();
    for (const id of [
      'StartFromEvent',
      'StartDeadLetterQueue',
      'RejectedRule',
      'StartDeadLetterAlarm',
      'Schedules',
      'ScheduleRole',
      'Triggers',
      'ScheduledJobs',
    ]) {
      expect(jobs.node.tryFindChild(id)).toBeUndefined();
    }
    expect(
      template.findResources('AWS::Lambda::Function', {
        Properties: { Description: 'eventjobs: starts jobs from trigger rules and schedules' },
      }),
    ).toEqual({});
    template.resourceCountIs('AWS::Scheduler::Schedule', 0);
    // The sleep timers' group only.
    template.resourceCountIs('AWS::Scheduler::ScheduleGroup', 1);
    expect(JSON.stringify(template.toJSON())).not.toContain('Job Rejected');
  });
});

describe("a trigger's rule target", () => {
  it('hands the whole event and the encoded configuration to the starter, with the start dead-letter queue and retries', () => {
    // Prepare
    const { stack, jobs } = jobsStack();
    const options = trigger({
      type: eventPath('$.detail.type'),
      name: eventPath('$.detail.requestId'),
      input: { value: { id: eventPath("$.detail['order.id']"), tag: '<fixed>' } },
      owner: eventPath('$.detail.owner'),
      timeoutSeconds: 600,
    });

    // Act
    const rule = jobs.startOn(PATTERN, options);

    // Assess
    const template = Template.fromStack(stack);
    const starters = startersOf(jobs);
    const target = starterTarget(template, logicalId(rule), starters.starterFunction);
    expect(target.InputTransformer.InputPathsMap).toEqual({ f1: '$' });
    // An owner from the event: nothing beside the configuration but the event.
    expect(target.InputTransformer.InputTemplate).toMatch(
      /^\{"eventjobsStarter":"[A-Za-z0-9_-]+","event":<f1>\}$/,
    );
    expect(configOf(payloadOf(target.InputTransformer.InputTemplate))).toEqual({
      kind: 'trigger',
      id: 'orders',
      type: { path: '$.detail.type' },
      name: { path: '$.detail.requestId' },
      input: { value: { id: { path: "$.detail['order.id']" }, tag: '<fixed>' } },
      owner: { path: '$.detail.owner' },
      timeoutSeconds: 600,
    });
    expect(target.DeadLetterConfig).toEqual({ Arn: arnOf(starters.deadLetterQueue) });
    expect(target.RetryPolicy).toEqual({
      MaximumRetryAttempts: 185,
      MaximumEventAgeInSeconds: 86_400,
    });
  });

  it("a fixed owner travels beside the configuration, as the payload's owner", () => {
    // Prepare
    const { stack, jobs } = jobsStack();

    // Act
    const rule = jobs.startOn(PATTERN, trigger());

    // Assess
    const template = Template.fromStack(stack);
    const target = starterTarget(template, logicalId(rule), startersOf(jobs).starterFunction);
    const inputTemplate = target.InputTransformer.InputTemplate as string;
    expect(inputTemplate).toMatch(
      /^\{"eventjobsStarter":"[A-Za-z0-9_-]+","owner":"arn:aws:iam::123456789012:user\/alice","event":<f1>\}$/,
    );
    expect(configOf(payloadOf(inputTemplate))).toEqual({
      kind: 'trigger',
      id: 'orders',
      type: 'echo',
      owner: { fixed: true },
    });
  });

  // The owner travels in the template beside the configuration: the check of its length must
  // count it, or synth passes a template EventBridge refuses (8192 characters at most).
  it("a configuration that fits the input template only without its fixed owner is refused with the construct's reason", () => {
    // Prepare: an owner of 546 characters (a user's path may have 512); the configuration
    // encodes to 7854 characters, and the template with the owner would take 8447
    const { jobs } = jobsStack();
    const owner = `arn:aws:iam::123456789012:user/${'p'.repeat(500)}/${'u'.repeat(14)}`;

    // Act
    const act = () => jobs.startOn(PATTERN, trigger({ owner, input: { value: 'x'.repeat(5800) } }));

    // Assess
    expect(act).toThrow(
      /startOn\(orders\): .*input template would take \d+ characters; EventBridge takes 8192/,
    );
  });

  it('lets only that rule invoke the starter function', () => {
    // Prepare
    const { stack, jobs } = jobsStack();

    // Act
    const rule = jobs.startOn(PATTERN, trigger());

    // Assess
    const template = Template.fromStack(stack);
    const starter = startersOf(jobs).starterFunction;
    const permissions = Object.values(
      template.findResources('AWS::Lambda::Permission', {
        Properties: { FunctionName: arnOf(starter) },
      }),
    ).map((permission) => permission.Properties);
    expect(permissions).toEqual([
      {
        Action: 'lambda:InvokeFunction',
        FunctionName: arnOf(starter),
        Principal: 'events.amazonaws.com',
        SourceArn: arnOf(rule),
      },
    ]);
    // And only that rule may send to the start dead-letter queue, beside the Job Rejected rule.
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [ref(startersOf(jobs).deadLetterQueue)],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: 'sqs:SendMessage',
            Principal: { Service: 'events.amazonaws.com' },
            Condition: { ArnEquals: { 'aws:SourceArn': arnOf(rule) } },
          }),
        ]),
      },
    });
  });

  it('a rule the app made, on its own bus, gets the target and is returned as it is', () => {
    // Prepare
    const { stack, jobs } = jobsStack();
    const bus = new events.EventBus(stack, 'AppBus');
    const appRule = new events.Rule(stack, 'AppRule', {
      eventBus: bus,
      eventPattern: { source: ['app'] },
    });

    // Act
    const rule = jobs.startOn(appRule, trigger());

    // Assess
    expect(rule).toBe(appRule);
    expect(rule.node.path).toBe('StartersTest/AppRule');
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::Events::Rule', {
      EventBusName: ref(bus),
      EventPattern: { source: ['app'] },
      Targets: [Match.objectLike({ Arn: arnOf(startersOf(jobs).starterFunction) })],
    });
    expect(jobs.node.findChild('Triggers').node.children).toEqual([]);
  });

  it('a pattern with a bus makes the rule on that bus', () => {
    // Prepare
    const { stack, jobs } = jobsStack();
    const bus = new events.EventBus(stack, 'AppBus');

    // Act
    const rule = jobs.startOn({ ...PATTERN, eventBus: bus, description: 'orders' }, trigger());

    // Assess
    const template = Template.fromStack(stack);
    const properties = template.findResources('AWS::Events::Rule')[logicalId(rule)]?.Properties;
    expect(properties).toMatchObject({
      EventBusName: ref(bus),
      Description: 'orders',
      EventPattern: { source: ['shop.orders'] },
    });
  });

  it('a pattern without a bus makes a rule on the default bus, in the construct', () => {
    // Prepare
    const { stack, jobs } = jobsStack();

    // Act
    const rule = jobs.startOn(PATTERN, trigger());

    // Assess
    const template = Template.fromStack(stack);
    const properties = template.findResources('AWS::Events::Rule')[logicalId(rule)]?.Properties;
    expect(properties).toMatchObject({
      EventPattern: { source: ['shop.orders'] },
      Description: 'eventjobs: starts jobs from events (orders)',
    });
    expect(properties).not.toHaveProperty('EventBusName');
    expect(rule.node.scope).toBe(jobs.node.findChild('Triggers'));
    expect(rule.node.id).toBe('orders');
    expect(rule.node.path).toBe('StartersTest/Jobs/Triggers/orders');
  });
});

describe('a schedule', () => {
  it('is an EventBridge Scheduler schedule of the group, with its window off, invoking the starter with the firing', () => {
    // Prepare
    const { stack, jobs } = jobsStack();

    // Act
    jobs.schedule(
      'nightly',
      schedule({
        expression: 'cron(0 6 * * ? *)',
        timezone: 'Europe/Paris',
        name: 'report-{scheduledTime}',
        overlap: 'allow',
        timeoutSeconds: 120,
        description: 'the nightly report',
      }),
    );

    // Assess
    const template = Template.fromStack(stack);
    const starters = startersOf(jobs);
    const properties = theSchedule(template);
    expect(properties).toMatchObject({
      Description: 'the nightly report',
      ScheduleExpression: 'cron(0 6 * * ? *)',
      ScheduleExpressionTimezone: 'Europe/Paris',
      FlexibleTimeWindow: { Mode: 'OFF' },
      GroupName: stack.resolve(starters.scheduleGroup.scheduleGroupName),
      State: 'ENABLED',
      Target: {
        Arn: arnOf(starters.starterFunction),
        RoleArn: arnOf(starters.scheduleRole),
        DeadLetterConfig: { Arn: arnOf(starters.deadLetterQueue) },
        RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 3600 },
      },
    });
    // The owner and input beside the configuration, as CloudFormation resolves them.
    expect(typeof properties.Target.Input).toBe('string');
    const payload = payloadOf(properties.Target.Input);
    expect(payload).toEqual({
      [STARTER_KEY]: expect.stringMatching(/^[A-Za-z0-9_-]+$/),
      owner: ALICE,
      input: { seconds: 1 },
      scheduledTime: '<aws.scheduler.scheduled-time>',
      executionId: '<aws.scheduler.execution-id>',
    });
    expect(configOf(payload)).toEqual({
      kind: 'schedule',
      id: 'nightly',
      type: 'sleep',
      name: 'report-{scheduledTime}',
      overlap: 'allow',
      timeoutSeconds: 120,
    });
  });

  it('defaults: UTC, a name unique per firing, overlap skip, an empty input, enabled', () => {
    // Prepare
    const { stack, jobs } = jobsStack();

    // Act
    jobs.schedule('hourly', { type: 'sleep', expression: 'rate(1 hour)', owner: ALICE });

    // Assess
    const properties = theSchedule(Template.fromStack(stack));
    expect(properties).toMatchObject({
      ScheduleExpression: 'rate(1 hour)',
      ScheduleExpressionTimezone: 'UTC',
      State: 'ENABLED',
      Description: 'eventjobs: starts a sleep job (hourly)',
    });
    const payload = payloadOf(properties.Target.Input);
    expect(payload).toMatchObject({ owner: ALICE, input: {} });
    expect(configOf(payload)).toEqual({
      kind: 'schedule',
      id: 'hourly',
      type: 'sleep',
      name: '{id}-{scheduledTime}',
      overlap: 'skip',
    });
  });

  it('a disabled schedule is synthesized DISABLED', () => {
    // Prepare
    const { stack, jobs } = jobsStack();

    // Act
    jobs.schedule('paused', schedule({ enabled: false }));

    // Assess
    expect(theSchedule(Template.fromStack(stack)).State).toBe('DISABLED');
  });

  it('its role is for Scheduler of this account and this group only', () => {
    // Prepare
    const { stack, jobs } = jobsStack();
    jobs.schedule('nightly', schedule());

    // Act
    const template = Template.fromStack(stack);

    // Assess
    const starters = startersOf(jobs);
    const role = template.findResources('AWS::IAM::Role')[logicalId(starters.scheduleRole)];
    expect(role?.Properties.AssumeRolePolicyDocument).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Action: 'sts:AssumeRole',
          Effect: 'Allow',
          Principal: { Service: 'scheduler.amazonaws.com' },
          Condition: {
            StringEquals: {
              'aws:SourceAccount': { Ref: 'AWS::AccountId' },
              'aws:SourceArn': arnOf(starters.scheduleGroup),
            },
          },
        },
      ],
    });
  });

  it('its role may invoke the starter function (no version) and send to the start dead-letter queue, nothing else', () => {
    // Prepare
    const { stack, jobs } = jobsStack();
    jobs.schedule('nightly', schedule());

    // Act
    const template = Template.fromStack(stack);

    // Assess
    const starters = startersOf(jobs);
    const roleId = logicalId(starters.scheduleRole);
    const statements = statementsOfRole(template, roleId);
    expect(statements).toEqual([
      {
        Effect: 'Allow',
        Action: ['lambda:InvokeFunction'],
        Resource: [arnOf(starters.starterFunction)],
      },
      { Effect: 'Allow', Action: ['sqs:SendMessage'], Resource: [arnOf(starters.deadLetterQueue)] },
    ]);
    expect(JSON.stringify(statements)).not.toContain('*');
    const role = template.findResources('AWS::IAM::Role')[roleId];
    expect(role?.Properties.Policies).toBeUndefined();
    expect(role?.Properties.ManagedPolicyArns).toBeUndefined();
    // Scheduler invokes through the role: no resource policy on the function for it.
    expect(JSON.stringify(template.findResources('AWS::Lambda::Permission'))).not.toContain(
      'scheduler.amazonaws.com',
    );
  });

  it("is in the starters' own group, not the sleep timers'", () => {
    // Prepare
    const { stack, jobs } = jobsStack();
    jobs.schedule('nightly', schedule());

    // Act
    const template = Template.fromStack(stack);

    // Assess
    template.resourceCountIs('AWS::Scheduler::ScheduleGroup', 2);
    expect(theSchedule(template).GroupName).toEqual(
      stack.resolve(startersOf(jobs).scheduleGroup.scheduleGroupName),
    );
    expect(startersOf(jobs).scheduleGroup.node.id).toBe('Schedules');
  });
});

describe('the reference app', () => {
  it('starts the job a Job Requested event on the default bus asks for, all of it from the event', () => {
    // Prepare
    const { stack } = createStack();

    // Act
    const template = Template.fromStack(stack);

    // Assess
    const properties =
      template.findResources('AWS::Events::Rule')[logicalId(stack.requestRule)]?.Properties;
    expect(properties).toMatchObject({
      EventPattern: { source: ['eventjobs.example'], 'detail-type': ['Job Requested'] },
    });
    expect(properties).not.toHaveProperty('EventBusName');
    const target = starterTarget(
      template,
      logicalId(stack.requestRule),
      startersOf(stack.jobs).starterFunction,
    );
    expect(configOf(payloadOf(target.InputTransformer.InputTemplate))).toEqual({
      kind: 'trigger',
      id: 'job-requested',
      type: { path: '$.detail.type' },
      name: { path: '$.detail.requestId' },
      input: { path: '$.detail.input' },
      owner: { path: '$.detail.owner' },
    });
    template.resourceCountIs('AWS::Scheduler::Schedule', 0);
    template.hasOutput('StartDeadLetterQueueUrl', {
      Value: ref(startersOf(stack.jobs).deadLetterQueue),
    });
  });

  it('has its example schedule only when asked for', () => {
    // Prepare
    const { stack } = createStack({ exampleSchedule: { owner: ALICE } });

    // Act
    const properties = theSchedule(Template.fromStack(stack));

    // Assess
    expect(properties).toMatchObject({
      ScheduleExpression: 'rate(1 minute)',
      ScheduleExpressionTimezone: 'UTC',
    });
    const payload = payloadOf(properties.Target.Input);
    expect(payload).toMatchObject({ owner: ALICE, input: { seconds: 70 } });
    expect(configOf(payload)).toMatchObject({
      kind: 'schedule',
      id: 'example',
      type: 'sleep',
      overlap: 'skip',
    });
  });
});
