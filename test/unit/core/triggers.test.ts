/**
 * What triggers and schedules share between synth and the starter function
 * (`core/triggers.ts`): the JSON paths into an event, input mappings, the
 * configuration a target carries, owners' ARNs and schedules' job names.
 */
import { describe, expect, it } from 'vitest';
import {
  checkNameTemplate,
  compactTime,
  DEFAULT_SCHEDULE_NAME,
  decodeStarter,
  encodeStarter,
  type InputMappingValue,
  isEventPath,
  isPrincipalArn,
  MissingValueError,
  mapInput,
  ownerOfPrincipal,
  parsePath,
  pathsOf,
  renderName,
  type ScheduleConfig,
  STARTER_ID_PATTERN,
  selectPath,
  type TriggerConfig,
} from '../../../core/triggers';

const EVENT = {
  version: '0',
  id: '6a7e8feb-b491-4cf7-a9f1-bf3703467718',
  'detail-type': 'Order Placed',
  source: 'shop.orders',
  detail: {
    orderId: 'o-42',
    lines: [
      { sku: 'a', qty: 1 },
      { sku: 'b', qty: 0 },
    ],
    'dotted.key': 'dotted',
    flags: { rush: false, note: null },
  },
};

describe('parsePath', () => {
  it.each<[string, readonly (string | number)[]]>([
    ['$', []],
    ['$.detail', ['detail']],
    ['$.detail-type', ['detail-type']],
    ['$.detail.lines[1].sku', ['detail', 'lines', 1, 'sku']],
    ["$['dotted.key']", ['dotted.key']],
    ["$.detail['dotted.key']", ['detail', 'dotted.key']],
    ['$[0][12]', [0, 12]],
    ['$.a_b.C9', ['a_b', 'C9']],
  ])('parses %s', (path, steps) => {
    // Act
    const parsed = parsePath(path);

    // Assess
    expect(parsed).toEqual(steps);
  });

  it.each([
    ['detail.orderId', /does not start with \$/],
    ['', /does not start with \$/],
    ['$.', /is not a JSON path/],
    ['$..orderId', /is not a JSON path/],
    ['$.detail.*', /is not a JSON path/],
    ['$.lines[*]', /is not a JSON path/],
    ['$.lines[-1]', /is not a JSON path/],
    ['$.lines[?(@.qty > 0)]', /is not a JSON path/],
    ['$["double"]', /is not a JSON path/],
    ['$.a b', /is not a JSON path/],
    ['$detail', /is not a JSON path/],
  ])('refuses %j, naming the path', (path, message) => {
    // Act
    const act = () => parsePath(path);

    // Assess
    expect(act).toThrow(message);
    expect(act).toThrow(`"${path}"`);
  });
});

describe('selectPath', () => {
  it.each<[string, unknown]>([
    ['$', EVENT],
    ['$.id', EVENT.id],
    ['$.detail-type', 'Order Placed'],
    ['$.detail.orderId', 'o-42'],
    ['$.detail.lines[1]', { sku: 'b', qty: 0 }],
    ['$.detail.lines[1].qty', 0],
    ["$.detail['dotted.key']", 'dotted'],
    ['$.detail.flags.rush', false],
    ['$.detail.flags.note', null],
  ])('%s selects its value (falsy values included)', (path, value) => {
    // Act
    const selected = selectPath(EVENT, path);

    // Assess
    expect(selected).toEqual(value);
  });

  it.each([
    '$.nothing',
    '$.detail.orderId.more',
    '$.detail.lines[2]',
    '$.detail.lines.sku',
    '$.detail.lines.length',
    '$.detail.orderId.length',
    '$.detail.orderId[0]',
    '$.detail[0]',
    '$.detail.flags.note.x',
  ])('%s names nothing: undefined', (path) => {
    // Act
    const selected = selectPath(EVENT, path);

    // Assess
    expect(selected).toBeUndefined();
  });

  it.each([
    '$.__proto__',
    "$['__proto__']",
    '$.constructor',
    '$.constructor.name',
    '$.toString',
    '$.hasOwnProperty',
    '$.detail.__proto__.polluted',
    '$.detail.lines.constructor',
  ])('%s resolves no prototype member', (path) => {
    // Act
    const selected = selectPath(EVENT, path);

    // Assess
    expect(selected).toBeUndefined();
  });

  it('resolves an own __proto__ or constructor key of parsed JSON', () => {
    // Prepare: JSON.parse makes these own properties, as an event's detail may have them
    const event = JSON.parse('{"detail":{"__proto__":{"x":1},"constructor":"mine"}}') as unknown;

    // Act
    const proto = selectPath(event, '$.detail.__proto__.x');
    const ctor = selectPath(event, '$.detail.constructor');

    // Assess
    expect(proto).toBe(1);
    expect(ctor).toBe('mine');
  });

  it('throws on a path it cannot parse, rather than selecting nothing', () => {
    // Act
    const act = () => selectPath(EVENT, 'detail');

    // Assess
    expect(act).toThrow(/does not start with \$/);
  });
});

describe('isEventPath', () => {
  it.each<[unknown, boolean]>([
    [{ path: '$.detail' }, true],
    [{ path: 42 }, false],
    [{ path: '$.a', other: 1 }, false],
    [['$.a'], false],
    ['$.a', false],
    [null, false],
  ])('%j is a path: %s', (value, expected) => {
    // Act
    const result = isEventPath(value);

    // Assess
    expect(result).toBe(expected);
  });
});

describe('mapInput', () => {
  it('fills a nested mapping from paths, keeping fixed values as they are', () => {
    // Prepare
    const mapping = {
      order: { id: { path: '$.detail.orderId' }, first: { path: '$.detail.lines[0].sku' } },
      skus: [{ path: '$.detail.lines[0].sku' }, { path: '$.detail.lines[1].sku' }, 'fixed'],
      source: { path: '$.source' },
      fixed: { text: '<b>', count: 3, on: true, none: null, list: [1, 'two'] },
      rush: { path: '$.detail.flags.rush' },
      note: { path: '$.detail.flags.note' },
    };

    // Act
    const input = mapInput(mapping, EVENT);

    // Assess
    expect(input).toEqual({
      order: { id: 'o-42', first: 'a' },
      skus: ['a', 'b', 'fixed'],
      source: 'shop.orders',
      fixed: { text: '<b>', count: 3, on: true, none: null, list: [1, 'two'] },
      rush: false,
      note: null,
    });
  });

  it('a mapping that is one path takes the value there whole', () => {
    // Act
    const input = mapInput({ path: '$.detail.lines' }, EVENT);

    // Assess
    expect(input).toEqual(EVENT.detail.lines);
  });

  it.each<[unknown, string, string]>([
    [{ path: '$.detail.missing' }, 'input', '$.detail.missing'],
    [{ a: { b: { path: '$.detail.nope' } } }, 'input.a.b', '$.detail.nope'],
    [{ list: ['x', { path: '$.detail.lines[5]' }] }, 'input.list[1]', '$.detail.lines[5]'],
    [{ proto: { path: '$.detail.__proto__' } }, 'input.proto', '$.detail.__proto__'],
  ])(
    'a path with no value throws MissingValueError naming the field and path (%j)',
    (mapping, field, path) => {
      // Act
      let error: unknown;
      try {
        mapInput(mapping as never, EVENT);
      } catch (caught) {
        error = caught;
      }

      // Assess
      expect(error).toBeInstanceOf(MissingValueError);
      expect(error).toMatchObject({ name: 'MissingValueError', field, path });
      expect((error as Error).message).toBe(
        `The event has no value at ${path} (the job's ${field})`,
      );
    },
  );

  it('names the field it is given', () => {
    // Act
    const act = () => mapInput({ path: '$.detail.requestId' }, EVENT, 'name');

    // Assess
    expect(act).toThrow("The event has no value at $.detail.requestId (the job's name)");
  });

  it('pathsOf lists every path of a mapping, nested ones and those in arrays', () => {
    // Prepare
    const mapping: InputMappingValue = {
      a: { path: '$.a' },
      b: { c: [{ path: '$.b[0]' }, 'fixed', { d: { path: "$['e.f']" } }] },
      fixed: { x: 1, y: null },
    };

    // Act
    const paths = pathsOf(mapping);

    // Assess
    expect(paths).toEqual(['$.a', '$.b[0]', "$['e.f']"]);
    expect(pathsOf({ path: '$' })).toEqual(['$']);
    expect(pathsOf('fixed')).toEqual([]);
    expect(pathsOf(null)).toEqual([]);
  });
});

describe('encodeStarter / decodeStarter', () => {
  const trigger: TriggerConfig = {
    kind: 'trigger',
    id: 'orders',
    type: { path: '$.detail.type' },
    name: { path: '$.detail.requestId' },
    input: { fixed: '<not a placeholder>', text: 'héllo "quoted" \\ ü', v: { path: '$.detail' } },
    owner: { fixed: true },
    timeoutSeconds: 60,
  };
  const ownerFromEvent: TriggerConfig = {
    kind: 'trigger',
    id: 'requests',
    type: 'echo',
    owner: { path: '$.detail.owner' },
  };
  const schedule: ScheduleConfig = {
    kind: 'schedule',
    id: 'nightly',
    type: 'sleep',
    name: DEFAULT_SCHEDULE_NAME,
    overlap: 'skip',
    timeoutSeconds: 30,
  };

  it.each([trigger, ownerFromEvent, schedule])(
    'round-trips a $kind configuration ($id)',
    (config) => {
      // Act
      const encoded = encodeStarter(config);
      const decoded = decodeStarter(encoded);

      // Assess: base64url, so nothing in it is a template placeholder, quote or padding
      expect(encoded).toMatch(/^[A-Za-z0-9_-]+$/);
      expect(decoded).toEqual(config);
    },
  );

  it.each<[string, unknown, RegExp | undefined]>([
    ['no configuration', undefined, /carries no starter configuration/],
    ['a number', 42, /carries no starter configuration/],
    ['an object', { kind: 'trigger' }, /carries no starter configuration/],
    ['an unknown kind', Buffer.from('{"kind":"cron"}').toString('base64url'), /unknown starter/],
    ['no kind', Buffer.from('{}').toString('base64url'), /unknown starter/],
    ['an array', Buffer.from('[]').toString('base64url'), /unknown starter/],
    ['base64 of no JSON', Buffer.from('not json').toString('base64url'), undefined],
    ['characters outside base64', '!!!', undefined],
    ['an empty string', '', undefined],
    ['JSON null', Buffer.from('null').toString('base64url'), /unknown starter configuration/],
    ['a JSON string', Buffer.from('"trigger"').toString('base64url'), /unknown starter/],
    ['a JSON number', Buffer.from('7').toString('base64url'), /unknown starter/],
  ])('refuses %s', (_what, encoded, message) => {
    // Act
    const act = () => decodeStarter(encoded);

    // Assess
    if (message) expect(act).toThrow(message);
    else expect(act).toThrow();
  });
});

describe('isPrincipalArn', () => {
  it.each([
    'arn:aws:iam::123456789012:user/alice',
    'arn:aws:iam::123456789012:user/division/team/alice',
    'arn:aws:iam::123456789012:user/a.b+c=d,e@f-g_h',
    'arn:aws:iam::123456789012:role/Deployer',
    'arn:aws:iam::123456789012:role/service-role/team/Deployer',
    'arn:aws:sts::123456789012:assumed-role/Deployer/session-1',
    'arn:aws:sts::123456789012:assumed-role/Deployer',
    'arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Admin_0123/alice@example.com',
    'arn:aws-cn:iam::123456789012:user/alice',
    'arn:aws-us-gov:sts::123456789012:assumed-role/Deployer/ci',
    'arn:aws-iso-b:iam::123456789012:role/Deployer',
  ])('accepts %s', (arn) => {
    // Act
    const result = isPrincipalArn(arn);

    // Assess
    expect(result).toBe(true);
  });

  it.each<[string, unknown]>([
    ['a service principal', 'events.amazonaws.com'],
    ['a service principal as an ARN', 'arn:aws:iam::aws:policy/AdministratorAccess'],
    ['the wildcard', '*'],
    ['an account root', 'arn:aws:iam::123456789012:root'],
    ['an account id', '123456789012'],
    ['a group', 'arn:aws:iam::123456789012:group/devs'],
    ['a federated user', 'arn:aws:sts::123456789012:federated-user/bob'],
    ['an assumed role without its name', 'arn:aws:sts::123456789012:assumed-role/'],
    ['an assumed role with a trailing slash', 'arn:aws:sts::123456789012:assumed-role/Deployer/'],
    ['an IAM ARN of an assumed role', 'arn:aws:iam::123456789012:assumed-role/Deployer/s'],
    ['an STS ARN of a user', 'arn:aws:sts::123456789012:user/alice'],
    ['a session with a path', 'arn:aws:sts::123456789012:assumed-role/Deployer/a/b'],
    ['a user without a name', 'arn:aws:iam::123456789012:user/'],
    ['a trailing slash', 'arn:aws:iam::123456789012:user/alice/'],
    ['a short account', 'arn:aws:iam::12345678901:user/alice'],
    ['a region in an IAM ARN', 'arn:aws:iam:eu-west-1:123456789012:user/alice'],
    ['a wildcard in the name', 'arn:aws:iam::123456789012:user/*'],
    ['a space', 'arn:aws:iam::123456789012:user/al ice'],
    ['a trailing newline', 'arn:aws:iam::123456789012:user/alice\n'],
    ['another service', 'arn:aws:lambda:eu-west-1:123456789012:function:f'],
    ['an unknown partition', 'arn:amazon:iam::123456789012:user/alice'],
    ['garbage', 'alice'],
    ['an empty string', ''],
    ['a very long ARN', `arn:aws:iam::123456789012:user/${'a'.repeat(2100)}`],
    ['a number', 123456789012],
    ['null', null],
    ['undefined', undefined],
    ['an object', { arn: 'arn:aws:iam::123456789012:user/alice' }],
  ])('refuses %s', (_what, value) => {
    // Act
    const result = isPrincipalArn(value);

    // Assess
    expect(result).toBe(false);
  });
});

describe('ownerOfPrincipal', () => {
  const USER = 'arn:aws:iam::123456789012:user/team/alice';
  const SESSION = 'arn:aws:sts::123456789012:assumed-role/Deployer/alice@example.com';
  const ASSUMED_ROLE = 'arn:aws:sts::123456789012:assumed-role/Deployer';

  it('an IAM user (its path kept) owns its jobs under both models', () => {
    // Act
    const owners = [ownerOfPrincipal(USER, 'principal'), ownerOfPrincipal(USER, 'session')];

    // Assess
    expect(owners).toEqual([USER, USER]);
  });

  it('under principal, an assumed-role session stands for its role, as the API derives a caller', () => {
    // Act
    const owner = ownerOfPrincipal(SESSION, 'principal');

    // Assess
    expect(owner).toBe(ASSUMED_ROLE);
    expect(ownerOfPrincipal('arn:aws-cn:sts::123456789012:assumed-role/R/s', 'principal')).toBe(
      'arn:aws-cn:sts::123456789012:assumed-role/R',
    );
  });

  it('under principal, an assumed role without a session is itself: the owner its sessions share', () => {
    // Act
    const owner = ownerOfPrincipal(ASSUMED_ROLE, 'principal');

    // Assess
    expect(owner).toBe(ASSUMED_ROLE);
  });

  it('under session, an assumed-role session owns its jobs alone', () => {
    // Act
    const owner = ownerOfPrincipal(SESSION, 'session');

    // Assess
    expect(owner).toBe(SESSION);
  });

  // A role is never a caller of the API: its callers are its sessions, which the API's
  // IAM authorizer reports as `sts::<account>:assumed-role/<name>/<session>` (no path).
  // Under `principal` they own `sts::<account>:assumed-role/<name>`, so jobs owned by the
  // role's IAM ARN as it is would be seen by no one.
  it.each([
    ['arn:aws:iam::123456789012:role/Deployer', ASSUMED_ROLE],
    ['arn:aws:iam::123456789012:role/service-role/team/Deployer', ASSUMED_ROLE],
    ['arn:aws-cn:iam::123456789012:role/R', 'arn:aws-cn:sts::123456789012:assumed-role/R'],
    [
      'arn:aws-us-gov:iam::210987654321:role/a/R.x@y',
      'arn:aws-us-gov:sts::210987654321:assumed-role/R.x@y',
    ],
  ])('under principal, the IAM role %s owns what its sessions see (%s)', (role, owner) => {
    // Act
    const result = ownerOfPrincipal(role, 'principal');

    // Assess
    expect(result).toBe(owner);
  });

  // Under `session` every caller is one session: no caller is a role as a whole.
  it.each([
    'arn:aws:iam::123456789012:role/Deployer',
    'arn:aws:iam::123456789012:role/service-role/Deployer',
    ASSUMED_ROLE,
  ])('under session, %s owns nothing: undefined', (arn) => {
    // Act
    const owner = ownerOfPrincipal(arn, 'session');

    // Assess
    expect(owner).toBeUndefined();
  });

  it.each([
    'events.amazonaws.com',
    '*',
    'arn:aws:iam::123456789012:root',
    'arn:aws:iam::123456789012:group/devs',
    'arn:aws:sts::123456789012:federated-user/bob',
    'arn:aws:sts::123456789012:assumed-role/Deployer/a/b',
    'arn:aws:iam::123456789012:role/',
    'arn:aws:iam::123456789012:user/alice\n',
    '',
  ])('%j is no principal ARN: undefined under both models', (arn) => {
    // Act
    const owners = [ownerOfPrincipal(arn, 'principal'), ownerOfPrincipal(arn, 'session')];

    // Assess
    expect(owners).toEqual([undefined, undefined]);
  });
});

describe('schedules: job names', () => {
  it.each([
    ['2026-12-07T06:00:00Z', '20261207T060000Z'],
    ['2026-12-07T06:00:00.000Z', '20261207T060000Z'],
    ['2026-12-07T07:30:05+01:00', '20261207T063005Z'],
    ['2026-01-01T00:00:00Z', '20260101T000000Z'],
  ])('compactTime(%s) is %s', (iso, compact) => {
    // Act
    const result = compactTime(iso);

    // Assess
    expect(result).toBe(compact);
  });

  it('compactTime refuses what is not a time', () => {
    // Act
    const act = () => compactTime('tomorrow');

    // Assess
    expect(act).toThrow('"tomorrow" is not a time');
  });

  it('renderName fills {id} and {scheduledTime}, every time they appear', () => {
    // Prepare
    const fields = { id: 'nightly', scheduledTime: '2026-12-07T06:00:00Z' };

    // Act
    const names = [
      renderName(DEFAULT_SCHEDULE_NAME, fields),
      renderName('report.{scheduledTime}.{id}.{id}', fields),
      renderName('fixed', fields),
    ];

    // Assess
    expect(names).toEqual([
      'nightly-20261207T060000Z',
      'report.20261207T060000Z.nightly.nightly',
      'fixed',
    ]);
  });

  it.each([
    DEFAULT_SCHEDULE_NAME,
    '{id}',
    'fixed-name',
    'r.{scheduledTime}',
    `${'a'.repeat(111)}-{scheduledTime}`,
  ])('checkNameTemplate accepts %s', (template) => {
    // Act
    const problem = checkNameTemplate(template, 'nightly');

    // Assess
    expect(problem).toBeUndefined();
  });

  it.each<[string, string, RegExp]>([
    ['{date}', 'nightly', /has \{date\}; the fields are \{id\}, \{scheduledTime\}/],
    ['x-{Id}', 'nightly', /has \{Id\}/],
    ['a:{scheduledTime}', 'nightly', /gives "a:20261231T235959Z", which is not a job name/],
    ['', 'nightly', /gives "", which is not a job name/],
    ['..', 'nightly', /gives "\.\.", which is not a job name/],
    [`${'a'.repeat(112)}-{scheduledTime}`, 'nightly', /which is not a job name/],
    [`${'a'.repeat(121)}-{id}`, 'nightly', /which is not a job name/],
  ])('checkNameTemplate refuses %j', (template, id, problem) => {
    // Act
    const result = checkNameTemplate(template, id);

    // Assess
    expect(result).toMatch(problem);
  });

  it('a starter id is 1 to 64 characters of letters, digits, _ and -, not starting with _ or -', () => {
    // Assess
    expect(
      ['a', 'Orders_2', '9-x', 'a'.repeat(64)].every((id) => STARTER_ID_PATTERN.test(id)),
    ).toBe(true);
    expect(
      ['', '-a', '_a', 'a.b', 'a b', 'a#b', 'a'.repeat(65)].some((id) =>
        STARTER_ID_PATTERN.test(id),
      ),
    ).toBe(false);
  });
});
