/**
 * The bad-input corpus: malformed requests to every route, each with the exact
 * answer it must get. Every name a request carries contains the run's prefix,
 * so if one were wrongly accepted the job it started would be found in the
 * table (see bad-input.test.ts).
 */
import { gzipSync } from 'node:zlib';
import type { RawRequest, SignOptions } from './bad-input-http';

export type Category =
  | 'json syntax'
  | 'json value'
  | 'field types'
  | 'unknown keys'
  | 'job type'
  | 'input: sleep'
  | 'input: echo'
  | 'input: fail'
  | 'input: hash'
  | 'limits'
  | 'name in body'
  | 'name in path'
  | 'headers'
  | 'signing'
  | 'query'
  | 'signals'
  | 'routes';

/** What the answer must be: a function's `{ error: { code } }`, or API Gateway's own `{ message }`. */
export type Expected =
  | { readonly code: string; readonly extraKeys?: readonly string[] }
  | { readonly gateway: string | RegExp };

/** Who signs: an identity of the target, nobody, or explicit headers (a broken signature). */
export type Signer =
  | { readonly as: 'alice' | 'bob' }
  | { readonly as: 'unsigned' }
  | { readonly as: 'alice'; readonly options: SignOptions }
  | { readonly as: 'wrong-secret' | 'unknown-key' }
  | {
      readonly as: 'headers';
      readonly headers: (
        context: CaseContext,
      ) => Record<string, string> | Promise<Record<string, string>>;
    };

/** What is only known once the corpus' own jobs exist. */
export interface CaseContext {
  /** A finished job of alice's, kept byte-identical through the corpus. */
  readonly canary: string;
  /** A real cursor from alice's unfiltered list. */
  readonly aliceCursor: string;
  /** Alice's owner (IAM ARN), bob's, for forged cursors. */
  readonly aliceOwner: string;
  readonly bobOwner: string;
  /** Signs a request as alice, for cases that then break the signature. */
  readonly signAsAlice: (request: RawRequest) => Promise<Record<string, string>>;
}

export interface BadInputCase {
  readonly category: Category;
  readonly title: string;
  readonly request: (context: CaseContext) => RawRequest;
  readonly signer: Signer;
  readonly status: number;
  readonly expected: Expected;
}

const JSON_TYPE = { 'content-type': 'application/json' };
const ALICE: Signer = { as: 'alice' };

/** Builds the corpus for one run; `prefix` is unique to the run and a valid job name. */
export function buildCorpus(prefix: string): {
  readonly cases: readonly BadInputCase[];
  /** Every job name in the corpus that does not contain the prefix, to look up one by one. */
  readonly bareNames: readonly string[];
} {
  const cases: BadInputCase[] = [];
  let counter = 0;
  /** A fresh, valid job name that would be stored if its request were wrongly accepted. */
  const fresh = () => `${prefix}-${++counter}`;

  const add = (
    category: Category,
    title: string,
    request: RawRequest | ((context: CaseContext) => RawRequest),
    status: number,
    expected: Expected,
    signer: Signer = ALICE,
  ) => {
    cases.push({
      category,
      title,
      request: typeof request === 'function' ? request : () => request,
      signer,
      status,
      expected,
    });
  };
  const post = (body: string | Buffer, headers: Record<string, string> = JSON_TYPE) => ({
    method: 'POST',
    path: '/jobs',
    headers,
    body,
  });
  const postJson = (body: unknown) => post(JSON.stringify(body));
  const fn = (code: string, extraKeys?: readonly string[]): Expected => ({ code, extraKeys });
  const gw = (message: string | RegExp): Expected => ({ gateway: message });

  // ------------------------------------------------------------ bad JSON
  const valid = () => `{"type":"echo","name":"${fresh()}","input":{"value":1}}`;
  const invalidJson: Array<[string, () => string | Buffer]> = [
    ['truncated after the input', () => valid().slice(0, -1)],
    ['truncated inside a string', () => valid().slice(0, 12)],
    ['trailing garbage', () => `${valid()}xyz`],
    ['two objects', () => `${valid()}${valid()}`],
    ['a trailing comma', () => `${valid().slice(0, -1)},}`],
    ['NaN', () => `{"type":"sleep","name":"${fresh()}","input":{"seconds":NaN}}`],
    ['Infinity', () => `{"type":"sleep","name":"${fresh()}","input":{"seconds":Infinity}}`],
    ['a hex number', () => `{"type":"sleep","name":"${fresh()}","input":{"seconds":0x10}}`],
    ['a leading zero', () => `{"type":"sleep","name":"${fresh()}","input":{"seconds":01}}`],
    ['a block comment', () => `/* a job */${valid()}`],
    ['a line comment', () => `// a job\n${valid()}`],
    ['single quotes', () => `{'type':'echo','name':'${fresh()}','input':{'value':1}}`],
    ['unquoted keys', () => `{type:"echo",name:"${fresh()}",input:{value:1}}`],
    ['a byte order mark', () => `\uFEFF${valid()}`],
    ['whitespace only', () => ' \n\t '],
    [
      'a raw control character in a string',
      () => valid().replace('"value":1', '"value":"a\u0001b"'),
    ],
    ['an invalid escape', () => valid().replace('"value":1', '"value":"\\x41"')],
    ['undefined', () => 'undefined'],
    [
      'bytes that are not UTF-8',
      () => Buffer.concat([Buffer.from(valid().slice(0, -1)), Buffer.from([0xff, 0xfe, 0x7d])]),
    ],
    ['a form body', () => `type=echo&name=${fresh()}`],
  ];
  for (const [title, body] of invalidJson) {
    add('json syntax', title, () => post(body()), 400, fn('InvalidJson'));
  }
  add('json syntax', 'an empty body', post(''), 400, fn('InvalidBody'));
  // Bytes that are not UTF-8 inside a JSON string: JSON once read with U+FFFD in their
  // place, so only a fatal decode refuses them. Without a content type the gateway
  // hands the body to the function base64-encoded, a second path to the same decode.
  const inString = (bytes: readonly number[]) => () =>
    Buffer.concat([
      Buffer.from(`{"type":"echo","name":"${fresh()}","input":{"value":"a`),
      Buffer.from(bytes),
      Buffer.from('b"}}'),
    ]);
  for (const [title, bytes] of [
    ['a byte 0xFF inside a string', [0xff]],
    ['a truncated two-byte sequence inside a string', [0xc3]],
    ['an overlong encoding of "/" inside a string', [0xc0, 0xaf]],
    ['a UTF-8-encoded lone surrogate inside a string', [0xed, 0xa0, 0x80]],
  ] as const) {
    const body = inString(bytes);
    add('json syntax', title, () => post(body()), 400, fn('InvalidJson'));
    add(
      'json syntax',
      `${title}, no content type (base64)`,
      () => post(body(), {}),
      400,
      fn('InvalidJson'),
    );
  }

  // ------------------------------------------------------------ JSON that is not a request
  for (const [title, body] of [
    ['null', 'null'],
    ['an empty array', '[]'],
    ['an array holding a request', `[${valid()}]`],
    ['a number', '42'],
    ['a string', '"echo"'],
    ['true', 'true'],
    ['an empty object (no type)', '{}'],
  ] as const) {
    add('json value', title, post(body), 400, fn('InvalidBody'));
  }

  // ------------------------------------------------------------ wrong types for each field
  const wrongValues: Array<[string, unknown]> = [
    ['a number', 1],
    ['null', null],
    ['an array', ['echo']],
    ['an object', { name: 'echo' }],
    ['a boolean', true],
  ];
  for (const [what, value] of wrongValues) {
    add(
      'field types',
      `type as ${what}`,
      () => postJson({ type: value, name: fresh() }),
      400,
      fn('InvalidBody'),
    );
    add(
      'field types',
      `name as ${what}`,
      () => postJson({ type: 'echo', name: value, input: { value: fresh() } }),
      400,
      fn('InvalidBody'),
    );
  }
  for (const [what, value] of [...wrongValues, ['a string', 'seconds=1']] as const) {
    add(
      'field types',
      `input as ${what}`,
      () => postJson({ type: 'sleep', name: fresh(), input: value }),
      400,
      fn('InvalidInput'),
    );
  }
  add(
    'field types',
    'missing type',
    () => postJson({ name: fresh(), input: {} }),
    400,
    fn('InvalidBody'),
  );
  add(
    'field types',
    'a duplicate key whose last value is invalid',
    () => post(`{"type":"sleep","name":"${fresh()}","input":{"seconds":1},"input":{"seconds":-1}}`),
    400,
    fn('InvalidInput'),
  );

  // ------------------------------------------------------------ unknown top-level keys
  for (const key of ['extra', 'Type', 'names', 'input ', '__proto__', 'constructor', '']) {
    add(
      'unknown keys',
      `top-level key ${JSON.stringify(key)}`,
      () =>
        post(`{"type":"echo","name":"${fresh()}","input":{"value":1},${JSON.stringify(key)}:{}}`),
      400,
      fn('InvalidBody'),
    );
  }

  // ------------------------------------------------------------ unknown job types
  for (const type of [
    'nope',
    '',
    'ECHO',
    ' echo',
    'echo ',
    'echo\u0000',
    '__proto__',
    'toString',
    'constructor',
    'hasOwnProperty',
    'x'.repeat(128),
  ]) {
    add(
      'job type',
      `type ${JSON.stringify(type.length > 20 ? `${type.slice(0, 8)}…(${type.length})` : type)}`,
      () => postJson({ type, name: fresh(), input: {} }),
      400,
      fn('UnknownJobType'),
    );
  }
  add(
    'job type',
    'a type of 129 characters',
    () => postJson({ type: 'x'.repeat(129), name: fresh(), input: {} }),
    400,
    fn('InvalidBody'),
  );

  // ------------------------------------------------------------ invalid input per type
  const inputs: Array<[Category, string, string, unknown]> = [
    ['input: sleep', 'sleep', 'seconds as a string', { seconds: '10' }],
    ['input: sleep', 'sleep', 'negative seconds', { seconds: -1 }],
    ['input: sleep', 'sleep', 'seconds over 900', { seconds: 901 }],
    ['input: sleep', 'sleep', 'seconds just over 900', { seconds: 900.001 }],
    ['input: sleep', 'sleep', 'seconds null', { seconds: null }],
    ['input: sleep', 'sleep', 'seconds true', { seconds: true }],
    ['input: sleep', 'sleep', 'no seconds', {}],
    ['input: sleep', 'sleep', 'an extra key', { seconds: 1, extra: 1 }],
    ['input: sleep', 'sleep', 'no input at all', undefined],
    ['input: echo', 'echo', 'no value', {}],
    ['input: echo', 'echo', 'an extra key', { value: 1, extra: 1 }],
    ['input: echo', 'echo', 'a misspelt key', { values: 1 }],
    ['input: echo', 'echo', 'no input at all', undefined],
    ['input: fail', 'fail', 'an empty message', { message: '' }],
    ['input: fail', 'fail', 'a message of 1001 characters', { message: 'm'.repeat(1001) }],
    ['input: fail', 'fail', 'a message as a number', { message: 42 }],
    ['input: fail', 'fail', 'no message', {}],
    ['input: fail', 'fail', 'hangSeconds 0', { message: 'x', hangSeconds: 0 }],
    ['input: fail', 'fail', 'hangSeconds over 900', { message: 'x', hangSeconds: 901 }],
    ['input: fail', 'fail', 'fractional hangSeconds', { message: 'x', hangSeconds: 1.5 }],
    ['input: fail', 'fail', 'hangSeconds as a string', { message: 'x', hangSeconds: '5' }],
    ['input: fail', 'fail', 'an extra key', { message: 'x', extra: 1 }],
    ['input: hash', 'hash', 'megabytes 0', { megabytes: 0 }],
    ['input: hash', 'hash', 'megabytes over 1024', { megabytes: 1025 }],
    ['input: hash', 'hash', 'negative megabytes', { megabytes: -1 }],
    ['input: hash', 'hash', 'fractional megabytes', { megabytes: 1.5 }],
    ['input: hash', 'hash', 'megabytes as a string', { megabytes: '1' }],
    ['input: hash', 'hash', 'megabytes null', { megabytes: null }],
    ['input: hash', 'hash', 'no megabytes', {}],
    ['input: hash', 'hash', 'an extra key', { megabytes: 1, extra: 1 }],
  ];
  for (const [category, type, title, input] of inputs) {
    add(category, title, () => postJson({ type, name: fresh(), input }), 400, fn('InvalidInput'));
  }
  add(
    'input: sleep',
    'seconds 1e309 (Infinity once parsed)',
    () => post(`{"type":"sleep","name":"${fresh()}","input":{"seconds":1e309}}`),
    400,
    fn('InvalidInput'),
  );
  add(
    'input: echo',
    'a value of 1e400 (Infinity once parsed; JSON cannot store it)',
    () => post(`{"type":"echo","name":"${fresh()}","input":{"value":1e400}}`),
    400,
    fn('InvalidInput'),
  );
  add(
    'input: echo',
    'a nested -1e400',
    () => post(`{"type":"echo","name":"${fresh()}","input":{"value":[1,{"x":-1e400}]}}`),
    400,
    fn('InvalidInput'),
  );
  add(
    'input: echo',
    '__proto__ as a key of the input',
    () => post(`{"type":"echo","name":"${fresh()}","input":{"value":1,"__proto__":{"x":1}}}`),
    400,
    fn('InvalidInput'),
  );
  const nestedArrays = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;
  add(
    'input: echo',
    'a value nested 65 levels deep',
    () => post(`{"type":"echo","name":"${fresh()}","input":{"value":${nestedArrays(64)}}}`),
    400,
    fn('InvalidInput'),
  );
  add(
    'input: echo',
    'a value nested 30,000 levels deep (deeper than the stack)',
    () => post(`{"type":"echo","name":"${fresh()}","input":{"value":${nestedArrays(30_000)}}}`),
    400,
    fn('InvalidInput'),
  );

  // ------------------------------------------------------------ limits
  add(
    'limits',
    'an input of 64 KiB + 1 byte of JSON',
    // {"value":"xxx…"} is 12 bytes more than the string.
    () => postJson({ type: 'echo', name: fresh(), input: { value: 'x'.repeat(64 * 1024 - 11) } }),
    413,
    fn('PayloadTooLarge'),
  );
  add(
    'limits',
    'an input of 64 KiB + 1 byte in two-byte characters',
    () =>
      postJson({ type: 'echo', name: fresh(), input: { value: `${'é'.repeat(32 * 1024 - 6)}x` } }),
    413,
    fn('PayloadTooLarge'),
  );
  add(
    'limits',
    'a small valid request padded with 100 KB of whitespace',
    () => post(`${valid()}${' '.repeat(100_000)}`),
    413,
    fn('PayloadTooLarge'),
  );
  add(
    'limits',
    'a body of 1 MiB',
    () => postJson({ type: 'echo', name: fresh(), input: { value: 'x'.repeat(1024 * 1024) } }),
    413,
    fn('PayloadTooLarge'),
  );
  add(
    'limits',
    'a body over the gateway’s 10 MB',
    () => postJson({ type: 'echo', name: fresh(), input: { value: 'x'.repeat(10 * 1024 * 1024) } }),
    413,
    gw('Request Entity Too Large'),
  );
  add(
    'limits',
    'a type of 100 KB',
    () => postJson({ type: 'x'.repeat(100_000), name: fresh() }),
    413,
    fn('PayloadTooLarge'),
  );
  add(
    'limits',
    'a name of 129 characters',
    () => postJson({ type: 'echo', name: `${prefix}-`.padEnd(129, 'n'), input: { value: 1 } }),
    400,
    fn('InvalidJobName'),
  );
  add(
    'limits',
    'a name of 10,000 characters',
    () => postJson({ type: 'echo', name: `${prefix}-`.padEnd(10_000, 'n'), input: { value: 1 } }),
    400,
    fn('InvalidJobName'),
  );
  add(
    'limits',
    'an empty name',
    () => postJson({ type: 'echo', name: '', input: { value: 1 } }),
    400,
    fn('InvalidJobName'),
  );
  add(
    'limits',
    'GET a name of 129 characters',
    { method: 'GET', path: `/jobs/${`${prefix}-`.padEnd(129, 'n')}` },
    400,
    fn('InvalidJobName'),
  );
  add(
    'limits',
    'DELETE a name of 129 characters',
    { method: 'DELETE', path: `/jobs/${`${prefix}-`.padEnd(129, 'n')}` },
    400,
    fn('InvalidJobName'),
  );
  add(
    'limits',
    'a request line over the gateway’s 10 KB',
    { method: 'GET', path: `/jobs/${prefix}-${'n'.repeat(11_000)}` },
    431,
    gw(/larger than 10240 bytes/),
  );

  // ------------------------------------------------------------ odd names in a POST body
  const bareNames = ['.', '..', '...'];
  const oddNames: Array<[string, string]> = [
    ['NUL', `${prefix}\u0000x`],
    ['a line feed', `${prefix}\nx`],
    ['a carriage return', `${prefix}\rx`],
    ['a tab', `${prefix}\tx`],
    ['DEL', `${prefix}\u007fx`],
    ['ESC', `${prefix}\u001b[31m`],
    ['é', `${prefix}-é`],
    ['an emoji', `${prefix}-😀`],
    ['a right-to-left override', `${prefix}\u202Ex`],
    ['Arabic letters', `${prefix}-مرحبا`],
    ['a zero-width space', `${prefix}\u200Bx`],
    ['a fullwidth letter', `${prefix}-ａ`],
    ['a no-break space', `${prefix}\u00A0x`],
    ['.', '.'],
    ['..', '..'],
    ['...', '...'],
    ['a slash', `${prefix}/x`],
    ['a leading ../', `../${prefix}`],
    ['%2e%2e', `%2e%2e${prefix}`],
    ['%2F', `${prefix}%2Fx`],
    ['a backslash', `${prefix}\\x`],
    ['%00', `${prefix}%00b`],
    ['a tilde', `~${prefix}`],
    ['a space inside', `${prefix} x`],
    ['a leading space', ` ${prefix}`],
    ['a trailing space', `${prefix} `],
    ['a question mark', `${prefix}?x=1`],
    ['a hash', `${prefix}#x`],
    ['a colon', `${prefix}:x`],
    ['an asterisk', `${prefix}*`],
  ];
  for (const [what, name] of oddNames) {
    add(
      'name in body',
      `a name with ${what}`,
      () => postJson({ type: 'echo', name, input: { value: 1 } }),
      400,
      fn('InvalidJobName'),
    );
  }

  // ------------------------------------------------------------ odd names in paths
  // The gateway routes on the decoded path: an encoded slash splits the name into two
  // segments (no route: 404); anything else reaches the function, decoded.
  const pathNames: Array<[string, string, number, Expected]> = [
    ['..', '..', 400, fn('InvalidJobName')],
    ['.', '.', 400, fn('InvalidJobName')],
    ['%2e%2e', '%2e%2e', 400, fn('InvalidJobName')],
    ['%2E', '%2E', 400, fn('InvalidJobName')],
    ['%2F (an encoded slash)', `${prefix}%2Fx`, 404, gw('Not Found')],
    ['%2F..', `${prefix}%2F..`, 404, gw('Not Found')],
    ['%5C (a backslash)', `${prefix}%5Cx`, 400, fn('InvalidJobName')],
    ['a raw backslash', `${prefix}\\x`, 400, fn('InvalidJobName')],
    ['%00', `${prefix}%00b`, 400, fn('InvalidJobName')],
    ['~', '~', 400, fn('InvalidJobName')],
    ['%20', `${prefix}%20x`, 400, fn('InvalidJobName')],
    ['%0A', `${prefix}%0A`, 400, fn('InvalidJobName')],
    ['%09', `${prefix}%09x`, 400, fn('InvalidJobName')],
    ['%7F', `${prefix}%7F`, 400, fn('InvalidJobName')],
    ['é', `${prefix}%C3%A9`, 400, fn('InvalidJobName')],
    ['an emoji', `${prefix}%F0%9F%98%80`, 400, fn('InvalidJobName')],
    ['a right-to-left override', `${prefix}%E2%80%AE`, 400, fn('InvalidJobName')],
    ['a zero-width space', `${prefix}%E2%80%8B`, 400, fn('InvalidJobName')],
    ['%25 (an encoded percent)', `${prefix}%25`, 400, fn('InvalidJobName')],
    ['%FF (not UTF-8)', `${prefix}%FF`, 400, gw('Bad Request')],
    ['a lone %', `${prefix}%`, 400, gw('Bad Request')],
    ['%zz', `${prefix}%zz`, 400, gw('Bad Request')],
  ];
  for (const method of ['GET', 'DELETE']) {
    for (const [what, segment, status, expected] of pathNames) {
      add(
        'name in path',
        `${method} a name with ${what}`,
        { method, path: `/jobs/${segment}` },
        status,
        expected,
      );
    }
  }
  add(
    'name in path',
    'GET a trailing slash after a name',
    (c) => ({ method: 'GET', path: `/jobs/${c.canary}/` }),
    404,
    gw('Not Found'),
  );
  add(
    'name in path',
    'GET a name then /..',
    (c) => ({ method: 'GET', path: `/jobs/${c.canary}/..` }),
    404,
    gw('Not Found'),
  );
  add(
    'name in path',
    'GET an empty segment before the name',
    (c) => ({ method: 'GET', path: `/jobs//${c.canary}` }),
    404,
    gw('Not Found'),
  );
  add(
    'name in path',
    'GET the canary in upper case',
    (c) => ({ method: 'GET', path: `/jobs/${c.canary.toUpperCase()}` }),
    404,
    fn('NotFound'),
  );
  add(
    'name in path',
    'GET the canary with %00 after it',
    (c) => ({ method: 'GET', path: `/jobs/${c.canary}%00` }),
    400,
    fn('InvalidJobName'),
  );
  add(
    'name in path',
    'DELETE the canary with %00 after it',
    (c) => ({ method: 'DELETE', path: `/jobs/${c.canary}%00` }),
    400,
    fn('InvalidJobName'),
  );
  add(
    'name in path',
    'DELETE the canary with a trailing space',
    (c) => ({ method: 'DELETE', path: `/jobs/${c.canary}%20` }),
    400,
    fn('InvalidJobName'),
  );
  add(
    'name in path',
    'DELETE the finished canary',
    (c) => ({ method: 'DELETE', path: `/jobs/${c.canary}` }),
    409,
    fn('JobFinished', ['job']),
  );
  add(
    'name in path',
    'DELETE the canary as bob',
    (c) => ({ method: 'DELETE', path: `/jobs/${c.canary}` }),
    404,
    fn('NotFound'),
    { as: 'bob' },
  );
  add(
    'name in path',
    'POST the canary’s name with an invalid input',
    (c) => postJson({ type: 'echo', name: c.canary, input: { value: 1, extra: 1 } }),
    400,
    fn('InvalidInput'),
  );

  // ------------------------------------------------------------ signals
  // Every one is refused before anything is stored: a signal that got through would
  // be an item in the canary's partition (or a fresh name's), which carries the prefix.
  const signalPath = (job: string, signal: string) => `/jobs/${job}/signals/${signal}`;
  const signalTo = (
    job: string,
    signal: string,
    body: string | Buffer = '{"approved":true}',
    headers: Record<string, string> = JSON_TYPE,
  ) => ({ method: 'POST', path: signalPath(job, signal), headers, body });
  const badSignalNames: Array<[string, string]> = [
    ['..', '..'],
    ['.', '.'],
    ['%2e%2e', '%2e%2e'],
    ['129 characters', 'a'.repeat(129)],
    ['%20', 'approval%20x'],
    ['%23 (a hash)', 'approval%23x'],
    ['%00', 'approval%00'],
    ['é', 'approval%C3%A9'],
    ['a colon', 'approval:x'],
  ];
  for (const [what, signal] of badSignalNames) {
    add(
      'signals',
      `a signal name with ${what}`,
      (c) => signalTo(c.canary, signal),
      400,
      fn('InvalidSignalName'),
    );
  }
  add(
    'signals',
    'a signal to a job name of 129 characters',
    signalTo(`${prefix}-`.padEnd(129, 'n'), 'approval'),
    400,
    fn('InvalidJobName'),
  );
  const badSignalBodies: Array<[string, () => string | Buffer]> = [
    ['truncated JSON', () => '{"approved":'],
    ['trailing garbage', () => '{"approved":true}xyz'],
    ['single quotes', () => "{'approved':true}"],
    ['a byte order mark', () => '\uFEFF{"approved":true}'],
    ['whitespace only', () => ' \n\t '],
    ['bytes that are not UTF-8', () => Buffer.from([0x22, 0xff, 0xfe, 0x22])],
  ];
  for (const [what, body] of badSignalBodies) {
    add(
      'signals',
      `a signal payload of ${what}`,
      (c) => signalTo(c.canary, 'approval', body()),
      400,
      fn('InvalidJson'),
    );
  }
  add(
    'signals',
    'a signal payload with a number beyond a double',
    (c) => signalTo(c.canary, 'approval', '{"amount":1e400}'),
    400,
    fn('InvalidPayload'),
  );
  add(
    'signals',
    'a signal payload of 32 KiB and one byte of JSON',
    (c) => signalTo(c.canary, 'approval', JSON.stringify('x'.repeat(32 * 1024 - 1))),
    413,
    fn('PayloadTooLarge'),
  );
  add(
    'signals',
    'a signal body of 1 MB',
    (c) => signalTo(c.canary, 'approval', JSON.stringify('x'.repeat(1024 * 1024))),
    413,
    fn('PayloadTooLarge'),
  );
  add(
    'signals',
    'a signal payload sent as text/plain',
    (c) => signalTo(c.canary, 'approval', '{"approved":true}', { 'content-type': 'text/plain' }),
    415,
    fn('UnsupportedMediaType'),
  );
  add(
    'signals',
    'a signal to a job that never existed',
    () => signalTo(fresh(), 'approval'),
    404,
    fn('NotFound'),
  );
  add(
    'signals',
    'a signal to the finished canary',
    (c) => signalTo(c.canary, 'approval'),
    409,
    fn('JobFinished', ['job']),
  );
  add(
    'signals',
    'a signal to the canary as bob',
    (c) => signalTo(c.canary, 'approval'),
    404,
    fn('NotFound'),
    { as: 'bob' },
  );
  add(
    'signals',
    'an unsigned signal',
    (c) => signalTo(c.canary, 'approval'),
    403,
    gw('Forbidden'),
    { as: 'unsigned' },
  );

  // ------------------------------------------------------------ headers
  const request = () => valid();
  for (const type of [
    'text/plain',
    'text/json',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=x',
    'application/xml',
    'application/jsonx',
    'application/json, text/plain',
    'json',
  ]) {
    add(
      'headers',
      `content-type ${type}`,
      () => post(request(), { 'content-type': type }),
      415,
      fn('UnsupportedMediaType'),
    );
  }
  add(
    'headers',
    'no content-type and truncated JSON',
    () => post(request().slice(0, -1), {}),
    400,
    fn('InvalidJson'),
  );
  add(
    'headers',
    'no content-type and an invalid input',
    () => post(JSON.stringify({ type: 'sleep', name: fresh(), input: { seconds: -1 } }), {}),
    400,
    fn('InvalidInput'),
  );
  add(
    'headers',
    'a gzip body the API does not decode',
    () => post(gzip(request()), { ...JSON_TYPE, 'content-encoding': 'gzip' }),
    400,
    fn('InvalidJson'),
  );

  // ------------------------------------------------------------ signing
  const forbidden = gw('Forbidden');
  const mismatch = gw(/signature we calculated does not match/);
  add('signing', 'an unsigned POST', () => post(request()), 403, forbidden, { as: 'unsigned' });
  add(
    'signing',
    'an unsigned GET',
    (c) => ({ method: 'GET', path: `/jobs/${c.canary}` }),
    403,
    forbidden,
    { as: 'unsigned' },
  );
  add(
    'signing',
    'an unsigned DELETE',
    (c) => ({ method: 'DELETE', path: `/jobs/${c.canary}` }),
    403,
    forbidden,
    { as: 'unsigned' },
  );
  add('signing', 'an unsigned list', { method: 'GET', path: '/jobs' }, 403, forbidden, {
    as: 'unsigned',
  });
  add('signing', 'a wrong secret key', () => post(request()), 403, mismatch, {
    as: 'wrong-secret',
  });
  add(
    'signing',
    'an unknown access key',
    () => post(request()),
    403,
    gw(/security token included in the request is invalid/),
    { as: 'unknown-key' },
  );
  add('signing', 'signed 10 minutes ago', () => post(request()), 403, gw(/Signature expired/), {
    as: 'alice',
    options: { at: Date.now() - 10 * 60_000 },
  });
  add(
    'signing',
    'signed 10 minutes ahead',
    () => post(request()),
    403,
    gw(/Signature not yet current/),
    {
      as: 'alice',
      options: { at: Date.now() + 10 * 60_000 },
    },
  );
  add('signing', 'a body other than the signed one', () => post(request()), 403, mismatch, {
    as: 'alice',
    options: { signedBody: '{"type":"echo","input":{"value":1}}' },
  });
  add(
    'signing',
    'a signature for another path',
    (c) => ({ method: 'DELETE', path: `/jobs/${c.canary}` }),
    403,
    mismatch,
    {
      as: 'headers',
      headers: (c) => c.signAsAlice({ method: 'DELETE', path: `/jobs/${c.canary}-other` }),
    },
  );
  add(
    'signing',
    'a signature for another method',
    (c) => ({ method: 'DELETE', path: `/jobs/${c.canary}` }),
    403,
    mismatch,
    {
      as: 'headers',
      headers: (c) => c.signAsAlice({ method: 'GET', path: `/jobs/${c.canary}` }),
    },
  );
  // The SDK's signer leaves any x-amz-signature parameter (whatever its case) out of
  // the canonical query; AWS leaves it out only of a presigned request's, so the
  // signatures differ. The local cloud once left it out too, and answered 200.
  for (const [title, path] of [
    ['X-AMZ-SIGNATURE=x on a header-signed list', '/jobs?X-AMZ-SIGNATURE=x'],
    ['x-amz-signature=x on a header-signed list', '/jobs?x-amz-signature=x&limit=1'],
  ] as const) {
    add('signing', title, { method: 'GET', path }, 403, mismatch);
  }
  add(
    'signing',
    'X-AMZ-SIGNATURE=x on a header-signed GET of the canary',
    (c) => ({ method: 'GET', path: `/jobs/${c.canary}?X-AMZ-SIGNATURE=x` }),
    403,
    mismatch,
  );
  add(
    'signing',
    'a bearer token',
    { method: 'GET', path: '/jobs' },
    403,
    gw(/Authorization header requires/),
    {
      as: 'headers',
      headers: () => ({ authorization: 'Bearer abc' }),
    },
  );
  add(
    'signing',
    'a signature without its x-amz-date',
    { method: 'GET', path: '/jobs' },
    403,
    gw(/X-Amz-Date/),
    {
      as: 'headers',
      headers: async (c) => {
        const { 'x-amz-date': _date, ...rest } = await c.signAsAlice({
          method: 'GET',
          path: '/jobs',
        });
        return rest;
      },
    },
  );

  // ------------------------------------------------------------ query strings on GET /jobs
  const list = (query: string) => ({ method: 'GET', path: `/jobs?${query}` });
  for (const query of [
    'status=running',
    'status=DONE',
    'status=',
    'status',
    'status=RUNNING&status=FAILED',
    'status=RUNNING%00',
    'status=%E2%80%8BRUNNING',
    'status=toString',
  ]) {
    add('query', query, list(query), 400, fn('InvalidStatus'));
  }
  for (const query of [
    'limit=0',
    'limit=101',
    'limit=-1',
    'limit=abc',
    'limit=1.5',
    'limit=1e2',
    'limit=%205',
    'limit=0x10',
    'limit=1000',
    'limit=',
    'limit=1&limit=2',
  ]) {
    add('query', query, list(query), 400, fn('InvalidLimit'));
  }
  for (const query of [
    'foo=bar',
    'Status=RUNNING',
    'limit[]=1',
    'constructor=1',
    'status=RUNNING&x=1',
  ]) {
    add('query', query, list(query), 400, fn('InvalidQuery'));
  }
  // Signed by hand: the SDK's signer cannot sign a parameter named __proto__ (it
  // would be a 403 for the signature, not the function's answer). The gateway passes
  // it on like any other parameter, and list-jobs refuses it.
  for (const query of ['__proto__=1', 'limit=5&__proto__=1', '__proto__']) {
    add('query', `${query} (signed by hand)`, list(query), 400, fn('InvalidQuery'), {
      as: 'alice',
      options: { byHand: true },
    });
  }
  const cursorOf = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const cursors: Array<[string, (c: CaseContext) => string]> = [
    ['an empty cursor', () => 'cursor='],
    ['a cursor that is not base64', () => 'cursor=!!!'],
    ['a cursor of 5,000 random characters', () => `cursor=${'Zm9v'.repeat(1250)}`],
    ['a cursor of null', () => `cursor=${cursorOf(null)}`],
    ['a cursor of []', () => `cursor=${cursorOf([])}`],
    ['a cursor of {}', () => `cursor=${cursorOf({})}`],
    ['a repeated cursor', (c) => `cursor=${c.aliceCursor}&cursor=${c.aliceCursor}`],
    ['alice’s cursor with a status filter', (c) => `status=SUCCEEDED&cursor=${c.aliceCursor}`],
    [
      'a cursor with an extra key',
      (c) => `cursor=${cursorOf({ ...decode(c.aliceCursor), extra: 'x' })}`,
    ],
    [
      'a cursor with a number for a key',
      (c) => `cursor=${cursorOf({ ...decode(c.aliceCursor), sk: 1 })}`,
    ],
    [
      'a cursor whose job key is bob’s',
      (c) => `cursor=${cursorOf({ ...decode(c.aliceCursor), pk: `JOB#${c.bobOwner}#x` })}`,
    ],
    [
      'a cursor whose index key is bob’s',
      (c) => `cursor=${cursorOf({ ...decode(c.aliceCursor), gsi1pk: `OWNER#${c.bobOwner}` })}`,
    ],
    [
      'alice’s own cursor with a sort key DynamoDB refuses (over 1,024 bytes)',
      (c) => `cursor=${cursorOf({ ...decode(c.aliceCursor), gsi1sk: '9'.repeat(2000) })}`,
    ],
    [
      'alice’s own cursor with a partition key DynamoDB refuses (over 2,048 bytes)',
      (c) =>
        `cursor=${cursorOf({ ...decode(c.aliceCursor), pk: `JOB#${c.aliceOwner}#${'x'.repeat(3000)}` })}`,
    ],
  ];
  for (const [title, query] of cursors) {
    add('query', title, (c) => list(query(c)), 400, fn('InvalidCursor'));
  }
  add(
    'query',
    'alice’s cursor presented by bob',
    (c) => list(`cursor=${c.aliceCursor}`),
    400,
    fn('InvalidCursor'),
    {
      as: 'bob',
    },
  );

  // ------------------------------------------------------------ routes that do not exist
  for (const [method, path] of [
    ['PUT', '/jobs'],
    ['PATCH', '/jobs'],
    ['DELETE', '/jobs'],
    ['OPTIONS', '/jobs'],
    ['POST', `/jobs/${prefix}-route`],
    ['PUT', `/jobs/${prefix}-route`],
    ['PATCH', `/jobs/${prefix}-route`],
    ['GET', '/'],
    ['GET', '/job'],
    ['GET', '/JOBS'],
    ['GET', `/jobs/${prefix}-route/runs`],
    ['GET', `/jobs/${prefix}-route/signals/approval`],
    ['PUT', `/jobs/${prefix}-route/signals/approval`],
    ['DELETE', `/jobs/${prefix}-route/signals/approval`],
    ['POST', `/jobs/${prefix}-route/signals`],
    ['POST', `/jobs/${prefix}-route/signals/`],
    ['POST', `/jobs/${prefix}-route/signals/a/b`],
    ['GET', '/jobs/'],
    ['POST', '/jobs/'],
  ] as const) {
    add(
      'routes',
      `${method} ${path.replace(prefix, '<prefix>')}`,
      () => ({ method, path, headers: JSON_TYPE, body: request() }),
      404,
      gw('Not Found'),
    );
  }
  add(
    'routes',
    'an unsigned PUT (no route comes before no signature)',
    () => ({ method: 'PUT', path: '/jobs', headers: JSON_TYPE, body: request() }),
    404,
    gw('Not Found'),
    { as: 'unsigned' },
  );

  return { cases, bareNames };
}

function decode(cursor: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as Record<string, unknown>;
}

function gzip(text: string): Buffer {
  return gzipSync(Buffer.from(text, 'utf8'));
}
