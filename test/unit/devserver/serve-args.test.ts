/**
 * The serve options (`devserver/serve-args.ts`): defaults, validation messages,
 * the usage text a caller extends, and the options npm takes for itself when
 * they come without `--`.
 */
import { parseArgs } from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  NpmSwallowedOptionsError,
  npmSwallowedOptions,
  parseServeArgs,
  SERVE_OPTIONS,
  serveArgsFromValues,
  serveUsage,
  USAGE,
} from '../../../devserver/serve-args';

/** Not under npm: no `npm_lifecycle_event`. */
const PLAIN: NodeJS.ProcessEnv = {};

describe('parseServeArgs', () => {
  it("has today's defaults", () => {
    expect(parseServeArgs([], PLAIN)).toEqual({
      port: 3000,
      awsPort: 4566,
      data: undefined,
      dynamodbEndpoint: undefined,
      logs: undefined,
      quiet: false,
      timeScale: 1,
      scheduleScale: undefined,
      assembly: 'cdk.out',
      stack: undefined,
      noSynth: false,
      chaos: undefined,
      chaosSeed: undefined,
      secretValues: {},
      help: false,
    });
  });

  it('reads every option', () => {
    const args = parseServeArgs(
      [
        '--port=0',
        '--aws-port',
        '0',
        '--data',
        'd',
        '--logs',
        'l',
        '--quiet',
        '--time-scale',
        '0.5',
        '--schedule-scale',
        '60',
        '--assembly',
        'a',
        '--stack',
        'S',
        '--no-synth',
        '--chaos',
        'crash:Worker=0.1',
        '--chaos-seed',
        '7',
        '--secret',
        'A=1=2',
        '--secret',
        'B=',
      ],
      PLAIN,
    );
    expect(args).toMatchObject({
      port: 0,
      awsPort: 0,
      data: 'd',
      logs: 'l',
      quiet: true,
      timeScale: 0.5,
      scheduleScale: 60,
      assembly: 'a',
      stack: 'S',
      noSynth: true,
      chaos: [{ kind: 'crash', target: 'Worker', probability: 0.1 }],
      chaosSeed: 7,
      secretValues: { A: '1=2', B: '' },
    });
  });

  it.each([
    [['--port', 'eighty'], '--port must be a port number from 0 to 65535, got "eighty"'],
    [['--aws-port', '70000'], '--aws-port must be a port number from 0 to 65535, got "70000"'],
    [['--time-scale', '0'], '--time-scale must be a number above 0 and at most 1000, got "0"'],
    [['--schedule-scale', 'x'], '--schedule-scale must be a number above 0 and at most 1000'],
    [['--data', 'd', '--dynamodb-endpoint', 'http://x'], '--data and --dynamodb-endpoint'],
    [['--dynamodb-endpoint', 'x'], '--dynamodb-endpoint must be an http(s) URL, got "x"'],
    [['--chaos-seed', '1'], '--chaos-seed needs --chaos'],
    [['--chaos', 'crash:W=1', '--chaos-seed=-1'], '--chaos-seed must be an integer'],
    [['--secret', 'nothing'], '--secret takes ID=VALUE, got "nothing"'],
    [['--bogus'], "Unknown option '--bogus'"],
    [['stray'], "Unexpected argument 'stray'"],
  ])('refuses %j', (argv, message) => {
    expect(() => parseServeArgs(argv, PLAIN)).toThrow(message);
  });
});

describe('the usage text', () => {
  it("is npm start's, with every option and --help last", () => {
    expect(USAGE.split('\n')[0]).toBe('Usage: npm start -- [options]');
    for (const name of Object.keys(SERVE_OPTIONS)) expect(USAGE).toContain(`--${name}`);
    expect(USAGE).toContain(
      '  --dynamodb-endpoint URL  use an external DynamoDB-compatible endpoint instead of the embedded one',
    );
    expect(USAGE.trimEnd().split('\n').at(-1)).toBe('  --help                   show this');
  });

  it("takes a caller's command and options, before --help", () => {
    const usage = serveUsage({
      command: 'eventjobs dev [options]',
      options: [['--watch DIR', 'rebuild on changes in DIR\n(repeatable)']],
    });
    const lines = usage.split('\n');
    expect(lines[0]).toBe('Usage: eventjobs dev [options]');
    expect(lines.slice(-3)).toEqual([
      '  --watch DIR              rebuild on changes in DIR',
      '                           (repeatable)',
      '  --help                   show this',
    ]);
  });

  it('lets a caller parse its own options with the serve options and validate the serve ones', () => {
    const { values } = parseArgs({
      args: ['--port', '0', '--open'],
      options: { ...SERVE_OPTIONS, open: { type: 'boolean', default: false } },
    });
    expect(values.open).toBe(true);
    expect(serveArgsFromValues(values).port).toBe(0);
  });
});

describe('options npm took for itself (npm start --port 3202, without --)', () => {
  it('names the command that was meant when npm set npm_config_port=3202 (npm up to 10)', () => {
    const env = { npm_lifecycle_event: 'start', npm_config_port: '3202' };

    expect(() => parseServeArgs([], env)).toThrow(NpmSwallowedOptionsError);
    expect(() => parseServeArgs([], env)).toThrow('did you mean: npm start -- --port 3202?');
  });

  it('pairs the option with the argument npm 11 passed on (npm_config_port=true, argv 3202)', () => {
    const message = npmSwallowedOptions(['3202', '--quiet'], {
      npm_lifecycle_event: 'start',
      npm_config_port: 'true',
    });

    expect(message).toContain('npm took --port for itself (npm_config_port=true)');
    expect(message).toContain('did you mean: npm start -- --port 3202 --quiet?');
  });

  it('asks for each value when npm 11 separated several from their options', () => {
    const message = npmSwallowedOptions(['3202', '0'], {
      npm_lifecycle_event: 'start',
      npm_config_port: 'true',
      npm_config_aws_port: 'true',
    });

    expect(message).toContain('did you mean: npm start -- --port VALUE --aws-port VALUE?');
    expect(message).toContain('npm passed 3202 0 on without their options');
  });

  it('knows --no-synth (npm_config_synth empty), any npm script, and quotes for the shell', () => {
    const message = npmSwallowedOptions([], {
      npm_lifecycle_event: 'dev',
      npm_config_synth: '',
      npm_config_secret: "A=it's",
    });

    expect(message).toContain("did you mean: npm run dev -- --no-synth --secret 'A=it'\\''s'?");
  });

  it('says nothing outside npm, or when the option was also given after --', () => {
    expect(npmSwallowedOptions([], { npm_config_port: '3202' })).toBeUndefined();
    expect(parseServeArgs([], { npm_config_port: '3202' }).port).toBe(3000);
    expect(
      npmSwallowedOptions(['--port', '3202'], {
        npm_lifecycle_event: 'start',
        npm_config_port: '3202',
      }),
    ).toBeUndefined();
    expect(
      npmSwallowedOptions([], { npm_lifecycle_event: 'start', npm_config_loglevel: 'warn' }),
    ).toBeUndefined();
  });

  it("checks a caller's own options too", () => {
    const message = npmSwallowedOptions(
      [],
      { npm_lifecycle_event: 'dev', npm_config_open: 'true' },
      { ...SERVE_OPTIONS, open: { type: 'boolean' } },
    );

    expect(message).toContain('did you mean: npm run dev -- --open?');
  });
});
