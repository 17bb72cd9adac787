import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { formatChaosReport, parseChaos } from './chaos';
import { type RunningLocalCloud, startLocalCloud } from './cloud';
import { isStale, synthesize } from './freshness';
import { removeStateFile, STATE_FILE, writeStateFile } from './state-file';

/** Generated secret values, kept between runs (a local setting). */
const SECRETS_FILE = '.eventjobs/secrets.json';

const USAGE = `Usage: npm start -- [options]

  --port N                 API port (default 3000; 0 picks a free one)
  --aws-port N             AWS endpoint port for the functions (default 4566; 0 picks a free one)
  --data DIR               keep DynamoDB state in DIR across restarts (default: in memory)
  --dynamodb-endpoint URL  use an external DynamoDB-compatible endpoint instead of the embedded one
  --logs DIR               also write one log file per function to DIR
  --quiet                  do not print function logs to the terminal
  --time-scale X           multiply AWS's own waits (retry backoff, schedules) by X (default 1)
  --schedule-scale X       multiply schedule rates by X instead (default: the time scale)
  --assembly DIR           the cloud assembly to run (default cdk.out)
  --stack NAME             the stack to run, if the assembly has several
  --no-synth               never run cdk synth; use the assembly as it is
  --chaos SPEC             inject faults, e.g. crash:Worker=0.05,hang:Worker=0.02,duplicate=0.05,
                           crash:Completion=0.05,put-events-failure=0.02 (see local/README.md)
  --chaos-seed N           seed the chaos draws, to replay a run (default: random, printed)
  --secret ID=VALUE        the value of the template's secret ID (logical id or name); repeatable.
                           Default: generated once and kept in .eventjobs/secrets.json (or DIR/secrets.json
                           with --data)
  --help                   show this`;

async function main(argv: string[]): Promise<number> {
  const startedAt = performance.now();
  let args: ReturnType<typeof parse>;
  try {
    args = parse(argv);
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n\n${USAGE}\n`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }

  const root = process.cwd();
  const assemblyDir = resolve(root, args.assembly);
  let synthMs = 0;
  if (!args.noSynth && isStale(root, assemblyDir)) {
    process.stdout.write(
      'Synthesizing the app (cdk.out is missing or older than the sources)...\n',
    );
    const synthStart = performance.now();
    const synth = synthesize(root, assemblyDir, { inherit: true });
    if (synth.status !== 0) {
      process.stderr.write('cdk synth failed; fix the error above and start again.\n');
      return 1;
    }
    synthMs = performance.now() - synthStart;
  }

  let cloud: RunningLocalCloud;
  try {
    cloud = await startLocalCloud({
      assemblyDir,
      stackName: args.stack,
      apiPort: args.port,
      awsPort: args.awsPort,
      dataDir: args.data ? resolve(root, args.data) : undefined,
      dynamodbEndpoint: args.dynamodbEndpoint,
      logsDir: args.logs ? resolve(root, args.logs) : undefined,
      quiet: args.quiet,
      timeScale: args.timeScale,
      scheduleScale: args.scheduleScale,
      color: process.stdout.isTTY,
      chaos: args.chaos ? { rules: args.chaos, seed: args.chaosSeed } : undefined,
      secretValues: args.secretValues,
      secretsFile: args.data ? undefined : resolve(root, SECRETS_FILE),
    });
  } catch (error) {
    process.stderr.write(
      `The local cloud could not start: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    return 1;
  }
  const totalMs = performance.now() - startedAt;
  process.stdout.write(banner(cloud, totalMs - synthMs, synthMs));
  const stateFile = resolve(root, STATE_FILE);
  try {
    writeStateFile(stateFile, cloud);
  } catch (error) {
    process.stderr.write(
      `Could not write ${STATE_FILE} (npm run dlq needs it): ${String(error)}\n`,
    );
  }

  await new Promise<void>((resolveStop) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      process.stdout.write(`\n${signal}: stopping the local cloud...\n`);
      removeStateFile(stateFile);
      cloud
        .stop()
        .then((report) => {
          if (report) process.stdout.write(report);
          const chaos = cloud.chaosReport();
          if (chaos) process.stdout.write(formatChaosReport(chaos));
          process.stdout.write('Stopped.\n');
        })
        .catch((error: unknown) => {
          process.stderr.write(`Error while stopping: ${String(error)}\n`);
        })
        .finally(resolveStop);
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
  return 0;
}

function parse(argv: string[]) {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      port: { type: 'string', default: '3000' },
      'aws-port': { type: 'string', default: '4566' },
      data: { type: 'string' },
      'dynamodb-endpoint': { type: 'string' },
      logs: { type: 'string' },
      quiet: { type: 'boolean', default: false },
      'time-scale': { type: 'string', default: '1' },
      'schedule-scale': { type: 'string' },
      assembly: { type: 'string', default: 'cdk.out' },
      stack: { type: 'string' },
      'no-synth': { type: 'boolean', default: false },
      chaos: { type: 'string' },
      'chaos-seed': { type: 'string' },
      secret: { type: 'string', multiple: true },
      help: { type: 'boolean', default: false },
    },
  });
  const port = (name: string, raw: string) => {
    const value = Number(raw);
    if (!Number.isInteger(value) || value < 0 || value > 65535) {
      throw new Error(`--${name} must be a port number from 0 to 65535, got "${raw}"`);
    }
    return value;
  };
  const timeScale = Number(values['time-scale']);
  if (!Number.isFinite(timeScale) || timeScale <= 0 || timeScale > 1000) {
    throw new Error(
      `--time-scale must be a number above 0 and at most 1000, got "${values['time-scale']}"`,
    );
  }
  const scheduleScale =
    values['schedule-scale'] === undefined ? undefined : Number(values['schedule-scale']);
  if (
    scheduleScale !== undefined &&
    (!Number.isFinite(scheduleScale) || scheduleScale <= 0 || scheduleScale > 1000)
  ) {
    throw new Error(
      `--schedule-scale must be a number above 0 and at most 1000, got "${values['schedule-scale']}"`,
    );
  }
  if (values.data && values['dynamodb-endpoint']) {
    throw new Error('--data and --dynamodb-endpoint cannot be used together');
  }
  if (values['dynamodb-endpoint'] && !/^https?:\/\/[^\s]+$/.test(values['dynamodb-endpoint'])) {
    throw new Error(
      `--dynamodb-endpoint must be an http(s) URL, got "${values['dynamodb-endpoint']}"`,
    );
  }
  const chaos = values.chaos === undefined ? undefined : parseChaos(values.chaos);
  let chaosSeed: number | undefined;
  if (values['chaos-seed'] !== undefined) {
    chaosSeed = Number(values['chaos-seed']);
    if (!Number.isInteger(chaosSeed) || chaosSeed < 0 || chaosSeed > 2 ** 32 - 1) {
      throw new Error(
        `--chaos-seed must be an integer from 0 to 4294967295, got "${values['chaos-seed']}"`,
      );
    }
    if (!chaos) throw new Error('--chaos-seed needs --chaos');
  }
  const secretValues: Record<string, string> = {};
  for (const pair of values.secret ?? []) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new Error(`--secret takes ID=VALUE, got "${pair}"`);
    secretValues[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return {
    secretValues,
    chaos,
    chaosSeed,
    port: port('port', values.port),
    awsPort: port('aws-port', values['aws-port']),
    data: values.data,
    dynamodbEndpoint: values['dynamodb-endpoint'],
    logs: values.logs,
    quiet: values.quiet,
    timeScale,
    scheduleScale,
    assembly: values.assembly,
    stack: values.stack,
    noSynth: values['no-synth'],
    help: values.help,
  };
}

function banner(cloud: RunningLocalCloud, startMs: number, synthMs: number): string {
  const alice = cloud.users[0];
  const lines = [
    '',
    `eventjobs local cloud is up in ${(startMs / 1000).toFixed(2)} s` +
      (synthMs > 0 ? ` (plus ${(synthMs / 1000).toFixed(1)} s of cdk synth)` : ''),
    '',
    `  API base URL   ${cloud.apiUrl}`,
    `  AWS endpoint   ${cloud.awsEndpoint}   (the functions' AWS_ENDPOINT_URL)`,
    `  Region         ${cloud.region}`,
    '',
    '  Local credentials (IAM users; jobs are private to each):',
    ...cloud.users.map(
      (user) =>
        `    ${user.name.padEnd(6)} AWS_ACCESS_KEY_ID=${user.accessKeyId} AWS_SECRET_ACCESS_KEY=${user.secretAccessKey}`,
    ),
    '',
  ];
  const secrets = Object.entries(cloud.services.secretsManager.values());
  if (secrets.length > 0) {
    lines.push(
      '  Secrets (local settings; --secret ID=VALUE to choose one):',
      ...secrets.map(([id, value]) => `    ${id.padEnd(24)} ${value}`),
      '',
    );
  }
  if (alice) {
    lines.push(
      '  Start a job (signed with SigV4, as API Gateway requires):',
      `    curl --aws-sigv4 "aws:amz:${cloud.region}:execute-api" \\`,
      `      --user "${alice.accessKeyId}:${alice.secretAccessKey}" \\`,
      `      -H 'content-type: application/json' \\`,
      `      -d '{"type":"sleep","name":"hello","input":{"seconds":5}}' \\`,
      `      ${cloud.apiUrl}/jobs`,
      '',
      '  Then look at it:',
      `    curl --aws-sigv4 "aws:amz:${cloud.region}:execute-api" --user "${alice.accessKeyId}:${alice.secretAccessKey}" ${cloud.apiUrl}/jobs/hello`,
      '',
    );
  }
  if (cloud.notes.length > 0) lines.push(...cloud.notes.map((note) => `  ${note}`), '');
  lines.push('Press Ctrl-C to stop.', '');
  return `${lines.join('\n')}\n`;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(
      `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exitCode = 1;
  },
);
