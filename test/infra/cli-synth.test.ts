import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from './helpers';

interface CfnResource {
  readonly Type: string;
  readonly Metadata?: Record<string, unknown>;
}

describe('npx cdk synth (the real CLI, offline, no credentials)', () => {
  let outDir: string;
  let result: ReturnType<typeof spawnSync>;

  beforeAll(() => {
    outDir = mkdtempSync(path.join(tmpdir(), 'eventjobs-synth-'));
    const env = { ...process.env };
    // No credentials and no region: synthesis must not need an AWS account.
    for (const name of Object.keys(env)) {
      if (name.startsWith('AWS_') || name.startsWith('CDK_')) delete env[name];
    }
    delete env.NODE_ENV; // vitest sets it to "test"; `cdk synth` runs without it.
    result = spawnSync('npx', ['cdk', 'synth', '--quiet', '-o', outDir], {
      cwd: PROJECT_ROOT,
      env,
      encoding: 'utf8',
      timeout: 170_000,
    });
  });

  afterAll(() => {
    if (outDir) rmSync(outDir, { recursive: true, force: true });
  });

  it('exits 0', () => {
    expect(result.error).toBeUndefined();
    expect(result.status, String(result.stderr)).toBe(0);
  });

  it('prints no warning and no error', () => {
    const output = `${String(result.stdout)}\n${String(result.stderr)}`;
    expect(output).not.toMatch(/warn/i);
    expect(output).not.toMatch(/\berror\b/i);
    expect(output).not.toMatch(/deprecat/i);
  });

  it('writes one bundled ESM asset directory per function', () => {
    const template = JSON.parse(
      readFileSync(path.join(outDir, 'EventJobs.template.json'), 'utf8'),
    ) as { Resources: Record<string, CfnResource> };
    const functions = Object.values(template.Resources).filter(
      (r) => r.Type === 'AWS::Lambda::Function',
    );
    expect(functions).toHaveLength(11);

    const assetPaths = functions.map((fn) => fn.Metadata?.['aws:asset:path']);
    expect(new Set(assetPaths).size).toBe(11);
    for (const assetPath of assetPaths) {
      expect(typeof assetPath).toBe('string');
      const dir = path.join(outDir, String(assetPath));
      expect(statSync(dir).isDirectory()).toBe(true);
      expect(existsSync(path.join(dir, 'index.mjs')), dir).toBe(true);
    }

    const assetDirs = readdirSync(outDir).filter(
      (name) => name.startsWith('asset.') && statSync(path.join(outDir, name)).isDirectory(),
    );
    expect(assetDirs.sort()).toEqual([...(assetPaths as string[])].sort());
  });

  it('writes a template without custom resources or CDK analytics metadata', () => {
    const template = JSON.parse(
      readFileSync(path.join(outDir, 'EventJobs.template.json'), 'utf8'),
    ) as { Resources: Record<string, CfnResource>; Conditions?: unknown };
    const types = Object.values(template.Resources).map((r) => r.Type);
    expect(types.filter((t) => t.startsWith('Custom::'))).toEqual([]);
    expect(types).not.toContain('AWS::CloudFormation::CustomResource');
    // cdk.json turns version reporting off, so the local cloud meets no Conditions either.
    expect(types).not.toContain('AWS::CDK::Metadata');
    expect(template.Conditions).toBeUndefined();
  });

  it('records no validation finding in the report', () => {
    const report = JSON.parse(
      readFileSync(path.join(outDir, 'validation-report.json'), 'utf8'),
    ) as {
      pluginReports: Array<{ violations?: unknown[] }>;
    };
    expect(report.pluginReports.flatMap((r) => r.violations ?? [])).toEqual([]);
  });
});
