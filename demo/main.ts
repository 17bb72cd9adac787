import { resolve } from 'node:path';
import { paint, type Style, styleFor } from '../cli/render';
import { parseCommandLine, parseFlags, runMain } from '../cli/run-main';
import { synthesizeWhenStale } from '../devserver/stale-synth';
import { type RunningLocalCloud, startLocalCloud } from '../src/local';
import { runScenario, type ScenarioResult } from './scenario';
import { allAsExpected, formatSummary } from './summary';

const ROOT = resolve(import.meta.dirname, '..');

const USAGE = `Usage: npm run demo -- [options]

  --logs DIR      also write one log file per function to DIR (default: function logs are not kept)
  --assembly DIR  the cloud assembly to run (default cdk.out)
  --no-synth      never run cdk synth; use the assembly as it is
  --help          show this`;

async function main(argv: string[]): Promise<number> {
  const startedAt = performance.now();
  const args = parseCommandLine(argv, parse, USAGE);
  if (typeof args === 'number') return args;
  const style = styleFor(process.stdout, process.env, true);
  const live = process.stdout.isTTY === true;
  const assemblyDir =
    args.assembly === undefined ? resolve(ROOT, 'cdk.out') : resolve(process.cwd(), args.assembly);
  const synth = synthesizeWhenStale(ROOT, assemblyDir, {
    skip: args.noSynth,
    announce: 'Synthesizing the app first (cdk.out is missing or older than the sources)...',
  });
  if (!synth.ok) {
    if (synth.signal === 'SIGINT') return 130;
    process.stderr.write('cdk synth failed; fix the error above and run the demo again.\n');
    return 1;
  }
  const synthMs = synth.ms;

  const controller = new AbortController();
  const onSignal = () => {
    // A second Ctrl-C while stopping: stop waiting.
    if (controller.signal.aborted) process.exit(130);
    controller.abort();
  };
  process.on('SIGINT', onSignal);

  const cloudStart = performance.now();
  let cloud: RunningLocalCloud;
  try {
    cloud = await startLocalCloud({
      assemblyDir,
      // Free ports: the demo runs alongside `npm start` and the tests.
      apiPort: 0,
      awsPort: 0,
      quiet: true,
      logsDir: args.logs === undefined ? undefined : resolve(process.cwd(), args.logs),
    });
  } catch (error) {
    process.stderr.write(`The local cloud could not start: ${messageOf(error)}\n`);
    return 1;
  }
  const cloudMs = performance.now() - cloudStart;

  let results: ScenarioResult[] | undefined;
  let failure: unknown;
  const scenarioStart = performance.now();
  try {
    if (!controller.signal.aborted) {
      results = await runDemoJobs(cloud, {
        logs: args.logs,
        cloudMs,
        style,
        live,
        signal: controller.signal,
      });
    }
  } catch (error) {
    if (!controller.signal.aborted) failure = error;
  }
  const scenarioMs = performance.now() - scenarioStart;

  if (controller.signal.aborted) {
    process.stdout.write('\nInterrupted: stopping the local cloud...\n');
  } else if (results) {
    process.stdout.write(
      `\n${paint(style, 'bold', 'Summary')}\n${formatSummary(style, results)}\n`,
    );
  }
  const report = await cloud.stop().catch((error: unknown) => {
    process.stderr.write(`Error while stopping the local cloud: ${messageOf(error)}\n`);
    return '';
  });
  // Anything left in a dead-letter queue is worth seeing: no job here should put one there.
  if (report) process.stdout.write(`\n${report}`);
  process.removeListener('SIGINT', onSignal);
  if (controller.signal.aborted) return 130;

  if (failure !== undefined || !results) {
    process.stderr.write(`The demo failed: ${messageOf(failure)}\n`);
    return 1;
  }
  const ok = allAsExpected(results);
  const totalMs = performance.now() - startedAt - synthMs;
  process.stdout.write(closingText(style, ok, { totalMs, cloudMs, scenarioMs, synthMs }));
  return ok ? 0 : 1;
}

/** The verdict, what to try next, and where the time went. */
function closingText(
  style: Style,
  ok: boolean,
  times: { totalMs: number; cloudMs: number; scenarioMs: number; synthMs: number },
): string {
  const { totalMs, cloudMs, scenarioMs, synthMs } = times;
  const bold = (text: string) => paint(style, 'bold', text);
  const dim = (text: string) => paint(style, 'dim', text);
  return [
    '',
    ok
      ? paint(style, 'green', 'Every job ended as expected.')
      : paint(style, 'red', 'Some jobs did not end as expected (marked above).'),
    '',
    bold('Try it yourself'),
    `  npm start                                                  ${dim('the local cloud, until Ctrl-C (writes .eventjobs/local.json for the CLI)')}`,
    `  npx eventjobs start sleep --input '{"seconds":5}' --wait   ${dim('in another terminal: start a job and follow it')}`,
    `  npx eventjobs watch <name>                                 ${dim("follow a running job's events")}`,
    `  npx eventjobs list --all                                   ${dim('your jobs; more in cli/README.md and README.md')}`,
    '',
    `Demo finished in ${seconds(totalMs)} ${dim(`(local cloud start ${seconds(cloudMs)}, jobs ${seconds(scenarioMs)}${synthMs > 0 ? `; plus ${seconds(synthMs)} of cdk synth before it` : ''})`)}`,
    '',
  ].join('\n');
}

/** Runs the demo's jobs on `cloud` as its first identity, each shown as it goes. */
function runDemoJobs(
  cloud: RunningLocalCloud,
  options: {
    logs?: string;
    cloudMs: number;
    style: Style;
    live: boolean;
    signal: AbortSignal;
  },
): Promise<ScenarioResult[]> {
  const { style, live, signal } = options;
  const bold = (text: string) => paint(style, 'bold', text);
  const dim = (text: string) => paint(style, 'dim', text);
  const alice = cloud.users[0];
  if (!alice) throw new Error('the local cloud has no identity to sign with');
  process.stdout.write(
    `\n${bold('eventjobs demo')} ${dim(`— the local cloud is up in ${seconds(options.cloudMs)} at ${cloud.apiUrl} (in memory; nothing is written to .eventjobs/)`)}\n`,
  );
  if (options.logs) process.stdout.write(dim(`Function logs: ${resolve(options.logs)}\n`));
  process.stdout.write('\n');
  return runScenario({
    apiUrl: cloud.apiUrl,
    region: cloud.region,
    credentials: { accessKeyId: alice.accessKeyId, secretAccessKey: alice.secretAccessKey },
    // The stack has one secret: the webhook signing secret (generated for this run).
    webhookSecret: Object.values(cloud.services.secretsManager.values())[0],
    stdout: process.stdout,
    style,
    live,
    signal,
  });
}

function parse(argv: string[]) {
  const values = parseFlags(argv, {
    logs: { type: 'string' },
    assembly: { type: 'string' },
    'no-synth': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  });
  return {
    logs: values.logs,
    assembly: values.assembly,
    noSynth: values['no-synth'],
    help: values.help,
  };
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

void runMain(main);
