/**
 * Recomputes part 5 (cost) from the figures of parts 1 and 2 already in
 * bench/results.json, with each function's memory size read from the
 * synthesized template: `npx tsx bench/recost.ts [assemblyDir]`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { costSection } from './cost-section';
import { formatReport, type Report } from './report';
import type { Counters } from './usage';

const ROOT = resolve(import.meta.dirname, '..');
const file = join(ROOT, 'bench/results.json');
const assembly = resolve(process.argv[2] ?? join(ROOT, '.bench/cdk.out'));
const template = JSON.parse(readFileSync(join(assembly, 'EventJobs.template.json'), 'utf8')) as {
  Resources: Record<string, { Type: string; Properties?: { MemorySize?: number } }>;
};
const results = JSON.parse(readFileSync(file, 'utf8')) as Report & { measuredAt: string };
if (!results.latency || !results.throughput)
  throw new Error('results.json has no latency and throughput parts');

/** Function names in the usage are `<stack>-<logical id>`: set memoryMb from the template. */
function withMemory(usage: Counters): Counters {
  const lambda: Record<string, Counters> = {};
  for (const [name, figures] of Object.entries((usage.lambda ?? {}) as Record<string, Counters>)) {
    const logicalId = name.split('-').at(-1) ?? name;
    const memoryMb = template.Resources[logicalId]?.Properties?.MemorySize ?? 128;
    lambda[name] = { ...figures, memoryMb };
  }
  return { ...usage, lambda };
}

const latency = { ...results.latency, usage: withMemory(results.latency.usage) };
const throughput = { ...results.throughput, usage: withMemory(results.throughput.usage) };
const cost = costSection(latency, throughput);
const report: Report = { ...results, latency, throughput, cost };
writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
process.stdout.write(`${formatReport(report)}\n`);
