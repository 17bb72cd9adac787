/**
 * The parts of `eventjobs dev` (and `eventjobs types`) that decide things:
 * which changed files mean a re-synth, the banner's example input, the
 * `--context` pairs, where an assembly names its job types module, how the
 * types are shown, and the live reload of the functions that run job code.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { appSourceMatcher, exampleValue, parseContext, recordSynth } from '../../../../cli/app/dev';
import { BundleReloader } from '../../../../cli/app/reloader';
import { formatJobTypes, jobTypesEntries } from '../../../../cli/app/types';
import { BUNDLE_METADATA_KEY } from '../../../../infra/bundling';

const PROJECT_ROOT = fileURLToPath(new URL('../../../..', import.meta.url));

let tmp: string;

beforeEach(() => {
  tmp = mkdtempSync(path.join(tmpdir(), 'eventjobs-dev-test-'));
});

afterEach(() => {
  rmSync(tmp, { recursive: true, force: true });
});

const writeJson = (file: string, value: unknown) => {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(value));
};

describe('appSourceMatcher', () => {
  it("follows cdk.json's watch settings, with cdk.json and package.json always", () => {
    writeJson(path.join(tmp, 'cdk.json'), {
      app: 'npx tsx src/app.ts',
      watch: { include: ['src/**'], exclude: ['**/*.d.ts', 'test'] },
    });

    const isAppSource = appSourceMatcher(tmp);

    expect(isAppSource('src/app.ts')).toBe(true);
    expect(isAppSource('src/nested/stack.ts')).toBe(true);
    expect(isAppSource('cdk.json')).toBe(true);
    expect(isAppSource('package.json')).toBe(true);
    expect(isAppSource('src/types.d.ts')).toBe(false);
    expect(isAppSource('test/jobs.test.ts')).toBe(false);
    expect(isAppSource('lib/stack.ts')).toBe(false);
    expect(isAppSource('README.md')).toBe(false);
  });

  it('excludes a folder named by itself, and what is under it, as cdk watch does', () => {
    writeJson(path.join(tmp, 'cdk.json'), { watch: { include: ['**'], exclude: ['test'] } });

    const isAppSource = appSourceMatcher(tmp);

    expect(isAppSource('lib/stack.ts')).toBe(true);
    expect(isAppSource('test')).toBe(false);
    expect(isAppSource('test/jobs.test.ts')).toBe(false);
    expect(isAppSource('test/deep/helper.ts')).toBe(false);
    expect(isAppSource('testing/helper.ts')).toBe(true);
  });

  it.each([
    ['a cdk.json without watch settings', { app: 'npx tsx bin/app.ts' }],
    ['no cdk.json', undefined],
  ])('takes any source file that is not a test, given %s', (_title, cdkJson) => {
    if (cdkJson) writeJson(path.join(tmp, 'cdk.json'), cdkJson);

    const isAppSource = appSourceMatcher(tmp);

    for (const file of ['bin/app.ts', 'lib/stack.mts', 'src/jobs.js', 'tsconfig.json']) {
      expect(isAppSource(file), file).toBe(true);
    }
    for (const file of [
      'test/stack.test.ts',
      'src/jobs.test.ts',
      'src/jobs.spec.mjs',
      'src/__tests__/stack.ts',
      'tests/helper.ts',
      'README.md',
      'docs/guide.txt',
    ]) {
      expect(isAppSource(file), file).toBe(false);
    }
    expect(isAppSource('cdk.json')).toBe(true);
    expect(isAppSource('package.json')).toBe(true);
  });
});

describe('exampleValue', () => {
  it('fills the required properties of an object with plain values that fit', () => {
    const schema = {
      type: 'object',
      properties: {
        name: { type: 'string' },
        count: { type: 'number' },
        retries: { type: 'integer', minimum: 3 },
        threshold: { type: 'number', minimum: 0 },
        dryRun: { type: 'boolean' },
        color: { type: 'string', enum: ['red', 'green'] },
        tags: { type: 'array', items: { type: 'string' } },
        target: {
          type: 'object',
          properties: { id: { type: 'string' }, note: { type: 'string' } },
          required: ['id'],
        },
        note: { type: 'string' },
      },
      required: ['name', 'count', 'retries', 'threshold', 'dryRun', 'color', 'tags', 'target'],
    };

    const value = exampleValue(schema);

    expect(value).toEqual({
      name: 'world',
      count: 1,
      retries: 3,
      threshold: 1,
      dryRun: true,
      color: 'red',
      tags: [],
      target: { id: 'world' },
    });
  });

  it('gives null for a required property it has no sample for, and nothing without a schema', () => {
    const schema = {
      type: 'object',
      properties: { either: { anyOf: [{ type: 'string' }, { type: 'number' }] } },
      required: ['either', 'undeclared'],
    };

    const value = exampleValue(schema);

    expect(value).toEqual({ either: null, undeclared: null });
    expect(exampleValue(undefined)).toBeUndefined();
    expect(exampleValue({ type: 'object' })).toEqual({});
  });
});

describe('parseContext', () => {
  it('reads KEY=VALUE pairs; the value may hold "=" or be empty', () => {
    const pairs = ['stage=dev', 'query=a=b', 'empty=', 'stage=prod'];

    const context = parseContext(pairs);

    expect(context).toEqual({ stage: 'prod', query: 'a=b', empty: '' });
    expect(parseContext([])).toEqual({});
  });

  it.each(['novalue', '=value', ''])('refuses %j', (pair) => {
    const pairs = ['good=1', pair];

    expect(() => parseContext(pairs)).toThrow(`--context takes KEY=VALUE, got "${pair}"`);
  });
});

describe('jobTypesEntries', () => {
  const bundled = (dir: string, jobTypesEntry?: string) => ({
    Type: 'AWS::Lambda::Function',
    Metadata: {
      'aws:cdk:path': `App/Jobs/${dir}/Resource`,
      [BUNDLE_METADATA_KEY]: jobTypesEntry === undefined ? { dir } : { dir, jobTypesEntry },
    },
  });

  it('lists the modules the templates name, once each, sorted', () => {
    const assembly = path.join(tmp, 'cdk.out');
    writeJson(path.join(assembly, 'App.template.json'), {
      Resources: {
        Worker: bundled('worker', 'src/jobs.ts'),
        Completion: bundled('completion', 'src/jobs.ts'),
        GetJob: bundled('get-job'),
        Table: { Type: 'AWS::DynamoDB::Table' },
      },
    });
    writeJson(path.join(assembly, 'Other.template.json'), {
      Resources: { Worker: bundled('worker', 'lib/billing-jobs.ts') },
    });
    writeJson(path.join(assembly, 'Empty.template.json'), {});
    // Not a template: never read as one.
    writeJson(path.join(assembly, 'manifest.json'), {
      Resources: { Worker: bundled('worker', 'not/a/template.ts') },
    });

    const entries = jobTypesEntries(assembly);

    expect(entries).toEqual(['lib/billing-jobs.ts', 'src/jobs.ts']);
  });

  it('is empty for an assembly without AsyncJobs, or none at all', () => {
    const assembly = path.join(tmp, 'cdk.out');
    writeJson(path.join(assembly, 'App.template.json'), {
      Resources: { GetJob: bundled('get-job') },
    });

    const entries = jobTypesEntries(assembly);

    expect(entries).toEqual([]);
    expect(jobTypesEntries(path.join(tmp, 'not-synthesized'))).toEqual([]);
  });
});

describe('formatJobTypes', () => {
  it('shows one block per type, by name, with its timeout and input schema', () => {
    const modules = [
      {
        entry: 'src/jobs.ts',
        types: [
          {
            exportName: 'resize',
            isJobType: true,
            name: 'resize',
            description: 'Resizes an image.',
            defaultTimeoutSeconds: 60,
            vendor: 'zod',
            inputSchema: {
              $schema: 'https://json-schema.org/draft/2020-12/schema',
              type: 'object',
              properties: { width: { type: 'number' } },
              required: ['width'],
            },
          },
          {
            exportName: 'archive',
            isJobType: true,
            name: 'archive',
            description: 'Archives a folder.',
            vendor: 'valibot',
          },
        ],
      },
    ];

    const text = formatJobTypes(modules);

    expect(text).toBe(
      [
        'Job types in src/jobs.ts:',
        '',
        '  archive  Archives a folder.',
        '    input: (no JSON Schema from the valibot library)',
        '',
        '  resize  Resizes an image.',
        '    default timeout: 60 s',
        '    input:',
        '      {',
        '        "type": "object",',
        '        "properties": {',
        '          "width": {',
        '            "type": "number"',
        '          }',
        '        },',
        '        "required": [',
        '          "width"',
        '        ]',
        '      }',
        '',
        '',
      ].join('\n'),
    );
  });
});

describe('BundleReloader', () => {
  const EVENTJOBS = JSON.stringify(path.join(PROJECT_ROOT, 'src', 'index.ts'));
  /** A job types module of one type whose description is `description`, plus `extra` source. */
  const jobsModule = (description: string, extra = '') => `
import { defineJobType } from ${EVENTJOBS};

export const greet = defineJobType({
  name: 'greet',
  description: ${JSON.stringify(description)},
  input: { '~standard': { version: 1, vendor: 'fixture', validate: (value: unknown) => ({ value }) } },
  async run() {
    return 'hello';
  },
});
${extra}`;

  let app: string;
  let entry: string;
  let devDir: string;
  let reloader: BundleReloader;
  const swap = vi.fn<(functionName: string, codeDir: string) => void>();

  beforeAll(async () => {
    app = mkdtempSync(path.join(tmpdir(), 'eventjobs-reloader-test-'));
    entry = path.join(app, 'src', 'jobs.ts');
    devDir = path.join(app, '.eventjobs', 'dev');
    mkdirSync(path.dirname(entry), { recursive: true });
    writeFileSync(entry, jobsModule('Greets, as first written (marker-v0).'));
    writeFileSync(path.join(app, 'src', 'unrelated.ts'), 'export const unrelated = 1;\n');
    reloader = await BundleReloader.create({
      appRoot: app,
      devDir,
      functions: [
        {
          logicalId: 'JobsWorker1234',
          label: 'Worker',
          functionName: 'app-JobsWorker1234',
          dir: 'worker',
          jobTypesEntry: entry,
        },
      ],
      swap,
    });
  });

  afterAll(async () => {
    await reloader?.dispose();
    rmSync(app, { recursive: true, force: true });
  });

  // The tests below run in order, each on the state the one before left.

  it('builds once to learn what it bundles, and swaps nothing yet', () => {
    const unrelated = path.join(app, 'src', 'unrelated.ts');

    const covered = [entry, unrelated].map((file) => reloader.covers(file));

    expect(covered).toEqual([true, false]);
    expect(reloader.covers(path.join(PROJECT_ROOT, 'functions', 'worker', 'handler.ts'))).toBe(
      true,
    );
    expect(swap).not.toHaveBeenCalled();
  });

  it('does nothing for a file that no bundle includes', async () => {
    const unrelated = path.join(app, 'src', 'unrelated.ts');

    const report = await reloader.reload([unrelated]);

    expect(report).toBeUndefined();
    expect(swap).not.toHaveBeenCalled();
  });

  it('rebuilds an edited module into a new folder and swaps it in', async () => {
    writeFileSync(entry, jobsModule('Greets, as edited (marker-v1).'));

    const report = await reloader.reload([entry]);

    expect(swap).toHaveBeenCalledTimes(1);
    const [functionName, codeDir] = swap.mock.calls[0] ?? [];
    expect(functionName).toBe('app-JobsWorker1234');
    expect(codeDir).toBe(path.join(devDir, 'JobsWorker1234', 'v1'));
    const bundle = readFileSync(path.join(codeDir ?? '', 'index.mjs'), 'utf8');
    expect(bundle).toContain('marker-v1');
    expect(bundle).not.toContain('marker-v0');
    expect(report).toEqual({
      functions: ['Worker'],
      files: [path.join('src', 'jobs.ts')],
      durationMs: expect.any(Number),
    });
  });

  it('refuses a module that exports a non-job-type, and swaps nothing', async () => {
    writeFileSync(
      entry,
      jobsModule('Greets, with a helper beside it (marker-v2).', 'export const helper = 42;\n'),
    );

    const reloaded = reloader.reload([entry]);

    await expect(reloaded).rejects.toThrow(
      `the job types module ${entry}: export "helper" is not a job type`,
    );
    expect(swap).toHaveBeenCalledTimes(1);
    expect(existsSync(path.join(devDir, 'JobsWorker1234', 'v2'))).toBe(false);
  });
});

describe('recordSynth', () => {
  it('writes its record in a new app that has no .eventjobs folder yet', () => {
    // Prepare
    const app = mkdtempSync(path.join(tmpdir(), 'eventjobs-app-'));

    // Act
    recordSynth(app, path.join(app, 'cdk.out'), { workerTimeoutSeconds: '8' });

    // Assess
    const record = JSON.parse(readFileSync(path.join(app, '.eventjobs', 'dev-synth.json'), 'utf8'));
    expect(record).toEqual({
      assemblyDir: path.join(app, 'cdk.out'),
      context: { workerTimeoutSeconds: '8' },
    });
  });
});
