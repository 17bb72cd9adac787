import { describe, expect, it } from 'vitest';
import { helpText, parseCommandLine } from '../../../cli/args';
import { ExitCode, UsageError } from '../../../cli/errors';

const files: Record<string, string> = { 'input.json': '{"seconds": 3}', '-': '{"from":"stdin"}' };
const deps = {
  readFile: (path: string) => {
    const text = files[path];
    if (text === undefined) throw new Error(`ENOENT: ${path}`);
    return text;
  },
};
const parse = (...argv: string[]) => parseCommandLine(argv, deps);

function usageError(argv: string[]): UsageError {
  try {
    parse(...argv);
  } catch (error) {
    if (error instanceof UsageError) return error;
    throw error;
  }
  throw new Error(`expected a usage error for ${argv.join(' ')}`);
}

describe('parseCommandLine', () => {
  it('parses start with every option, global options anywhere on the line', () => {
    // Act
    const parsed = parse(
      '--json',
      'start',
      'sleep',
      '--name',
      'n1',
      '--input',
      '{"seconds":5}',
      '--timeout',
      '30',
      '--wait',
      '--url',
      'https://x.execute-api.eu-west-1.amazonaws.com',
      '--no-color',
    );

    // Assess
    expect(parsed).toEqual({
      kind: 'run',
      global: {
        url: 'https://x.execute-api.eu-west-1.amazonaws.com',
        region: undefined,
        streamUrl: undefined,
        json: true,
        color: false,
      },
      command: {
        kind: 'start',
        type: 'sleep',
        name: 'n1',
        input: { seconds: 5 },
        timeoutSeconds: 30,
        wait: true,
      },
    });
  });

  it('parses start --from with its options, and their defaults', () => {
    expect(
      parse(
        'start',
        '--from',
        'jobs.ndjson',
        '--batch-size',
        '50',
        '--concurrency',
        '2',
        '--failures',
        'failed.ndjson',
      ),
    ).toMatchObject({
      command: {
        kind: 'startFrom',
        from: 'jobs.ndjson',
        batchSize: 50,
        concurrency: 2,
        failures: 'failed.ndjson',
      },
    });
    expect(parse('start', '--from', '-')).toMatchObject({
      command: { kind: 'startFrom', from: '-', batchSize: 100, concurrency: 4 },
    });
  });

  it('reads --input @file and @- (stdin)', () => {
    expect(parse('start', 'sleep', '--input', '@input.json')).toMatchObject({
      command: { input: { seconds: 3 } },
    });
    expect(parse('start', 'echo', '--input', '@-')).toMatchObject({
      command: { input: { from: 'stdin' } },
    });
  });

  it('parses signal <name> <signal> with a payload of JSON, @file or @- (stdin), or none', () => {
    expect(parse('signal', 'job-1', 'approval', '{"approved":true}')).toMatchObject({
      command: { kind: 'signal', name: 'job-1', signal: 'approval', payload: { approved: true } },
    });
    expect(parse('signal', 'job-1', 'approval', '@input.json')).toMatchObject({
      command: { payload: { seconds: 3 } },
    });
    expect(parse('signal', 'job-1', 'approval', '@-')).toMatchObject({
      command: { payload: { from: 'stdin' } },
    });
    expect(parse('signal', 'job-1', 'approval', '--json')).toEqual({
      kind: 'run',
      global: expect.objectContaining({ json: true }),
      command: { kind: 'signal', name: 'job-1', signal: 'approval', payload: undefined },
    });
  });

  it('parses replay <name> with --name and --wait, and without them', () => {
    expect(parse('replay', 'job-1', '--name', 'job-1-again', '--wait', '--json')).toEqual({
      kind: 'run',
      global: expect.objectContaining({ json: true }),
      command: { kind: 'replay', name: 'job-1', newName: 'job-1-again', wait: true },
    });
    expect(parse('replay', 'job-1')).toEqual({
      kind: 'run',
      global: expect.objectContaining({ json: false }),
      command: { kind: 'replay', name: 'job-1', wait: false },
    });
  });

  it('parses dashboard with --port, --url, --stream-url and --json, and without them', () => {
    expect(
      parse(
        'dashboard',
        '--port',
        '8080',
        '--url',
        'https://x.execute-api.eu-west-1.amazonaws.com',
        '--stream-url',
        'wss://y.execute-api.eu-west-1.amazonaws.com/live',
        '--json',
      ),
    ).toEqual({
      kind: 'run',
      global: expect.objectContaining({
        url: 'https://x.execute-api.eu-west-1.amazonaws.com',
        streamUrl: 'wss://y.execute-api.eu-west-1.amazonaws.com/live',
        json: true,
      }),
      command: { kind: 'dashboard', port: 8080 },
    });
    expect(parse('dashboard')).toMatchObject({ command: { kind: 'dashboard' } });
    expect(parse('dashboard', '--port', '0')).toMatchObject({
      command: { kind: 'dashboard', port: 0 },
    });
    expect(helpText('dashboard')).toMatch(/^Usage: eventjobs dashboard \[--port N\]/);
  });

  it('parses list options, upper-casing the status', () => {
    expect(parse('list', '--status', 'running', '--limit', '5', '--all')).toMatchObject({
      command: { kind: 'list', status: 'RUNNING', limit: 5, all: true },
    });
  });

  it.each([['status'], ['cancel'], ['watch'], ['result']] as const)(
    'parses %s <name>',
    (command) => {
      expect(parse(command, 'job-1')).toMatchObject({ command: { kind: command, name: 'job-1' } });
    },
  );

  it('answers help for a command, the global help and the version', () => {
    expect(parse('start', '--help')).toEqual({ kind: 'help', command: 'start' });
    expect(parse('watch', '-h')).toEqual({ kind: 'help', command: 'watch' });
    expect(parse('signal', '--help')).toEqual({ kind: 'help', command: 'signal' });
    expect(parse('replay', '--help')).toEqual({ kind: 'help', command: 'replay' });
    expect(helpText('replay')).toMatch(/^Usage: eventjobs replay <name> \[--name NEW\] \[--wait\]/);
    expect(parse('--help')).toEqual({ kind: 'help' });
    expect(parse('--version')).toEqual({ kind: 'version' });
  });

  it.each([
    [['status', 'x', '--bogus'], /Unknown option '--bogus'/, 'status'],
    [['status', 'x', '--wait'], /Unknown option '--wait'/, 'status'],
    [['frobnicate'], /unknown command "frobnicate"/, undefined],
    [[], /a command is required/, undefined],
    [['status'], /status needs <name>/, 'status'],
    [['status', 'a', 'b'], /unexpected argument "b"/, 'status'],
    [['start'], /start needs <type>/, 'start'],
    [['start', 'sleep', '--input', '{nope'], /--input is not valid JSON/, 'start'],
    [
      ['start', 'sleep', '--input', '@missing.json'],
      /cannot read --input file missing\.json/,
      'start',
    ],
    [['start', 'sleep', '--timeout', '1.5'], /--timeout must be a whole number/, 'start'],
    [['signal'], /signal needs <name>/, 'signal'],
    [['signal', 'j1'], /signal needs <signal>/, 'signal'],
    [['signal', 'j1', 'approval', '{}', 'more'], /unexpected argument "more"/, 'signal'],
    [['signal', 'j1', 'approval', '{nope'], /the payload is not valid JSON/, 'signal'],
    [
      ['signal', 'j1', 'approval', '@missing.json'],
      /cannot read the payload file missing\.json/,
      'signal',
    ],
    [['replay'], /replay needs <name>/, 'replay'],
    [['replay', 'a', 'b'], /unexpected argument "b"/, 'replay'],
    [['replay', 'a', '--name'], /argument missing/, 'replay'],
    [['replay', 'a', '--name', ''], /--name must not be empty/, 'replay'],
    [['replay', 'a', '--input', '{}'], /Unknown option '--input'/, 'replay'],
    [['replay', 'a', '--timeout', '5'], /Unknown option '--timeout'/, 'replay'],
    [['list', '--limit', '0'], /--limit must be a whole number/, 'list'],
    [
      ['dashboard', '--port', '65536'],
      /--port must be a whole number from 0 to 65535/,
      'dashboard',
    ],
    [['dashboard', '--port=-1'], /--port must be a whole number from 0 to 65535/, 'dashboard'],
    [['dashboard', '--port', 'http'], /--port must be a whole number/, 'dashboard'],
    [['dashboard', '--port'], /argument missing/, 'dashboard'],
    [['dashboard', 'extra'], /unexpected argument "extra"/, 'dashboard'],
    [['dashboard', '--wait'], /Unknown option '--wait'/, 'dashboard'],
    [['dashboard', '--stream-url', ''], /--stream-url must not be empty/, 'dashboard'],
    [['start', 'sleep', '--name'], /argument missing/, 'start'],
    [['status', 'x', '--url', ''], /--url must not be empty/, 'status'],
  ])('rejects %j as a usage error (exit 2)', (argv, message, command) => {
    // Act
    const error = usageError(argv);

    // Assess
    expect(error.message).toMatch(message);
    expect(error.exitCode).toBe(ExitCode.Usage);
    expect(error.command).toBe(command);
  });

  it('documents every exit code in the global help', () => {
    const help = helpText();
    for (const code of [0, 1, 2, 3, 4, 5, 6, 7, 8, 130]) {
      expect(help).toMatch(new RegExp(`^ +${code} +\\S`, 'm'));
    }
  });
});
