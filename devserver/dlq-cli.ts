/**
 * `npm run dlq -- list | redrive <queue> [options]`: the dead-letter queues
 * of the running local cloud (found through `.eventjobs/local.json`, which
 * `npm start` writes) or of a deployed stack (AWS credentials from the
 * standard environment, outputs from `cdk deploy --outputs-file`).
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SQSClient } from '@aws-sdk/client-sqs';
import { isEntryPoint, parseCommandLine, runMain } from '../cli/run-main';
import {
  type DlqClients,
  deadLetterQueues,
  findQueue,
  formatLetter,
  listQueue,
  redriveQueue,
} from './dlq';
import { isAlive, readStateFile, STATE_FILE } from './state-file';

// The SDK's notice that it will need Node 22 from 2027 is noise in a CLI's output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const USAGE = `Usage: npm run dlq -- <command> [options]

Commands:
  list                 every dead-letter queue with its messages (id, attributes, body preview)
  redrive <queue>      send each message of <queue> back where it came from, then delete it;
                       <queue> is an output prefix (rule, completion), an output name or a URL

Options:
  --endpoint URL       the local cloud's AWS endpoint (default: from ${STATE_FILE})
  --outputs-file FILE  a deployed stack's outputs (cdk deploy --outputs-file FILE); talks to AWS
                       with the credentials and region of the standard environment
  --stack NAME         the stack in the outputs file, if it holds several
  --help               show this`;

export interface Target {
  readonly where: string;
  readonly outputs: Readonly<Record<string, string>>;
  readonly clients: DlqClients;
}

class DlqUsageError extends Error {
  override name = 'DlqUsageError';
}

async function main(argv: string[]): Promise<number> {
  const parsed = parseCommandLine(argv, parse, USAGE);
  if (typeof parsed === 'number') return parsed;
  let target: Target;
  try {
    target = resolveTarget(parsed);
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    return error instanceof DlqUsageError ? 2 : 1;
  }
  const queues = deadLetterQueues(target.outputs);
  if (queues.length === 0) {
    process.stderr.write(`The stack (${target.where}) has no *DeadLetterQueueUrl output.\n`);
    return 1;
  }
  try {
    if (parsed.command === 'list') {
      let total = 0;
      for (const queue of queues) {
        const letters = await listQueue(target.clients.sqs, queue);
        total += letters.length;
        process.stdout.write(`${queue.name} (${queue.url}): ${letters.length} message(s)\n`);
        for (const letter of letters) process.stdout.write(`${formatLetter(letter)}\n`);
      }
      process.stdout.write(`${total} message(s) in ${queues.length} dead-letter queue(s)\n`);
      return 0;
    }
    const queue = findQueue(queues, parsed.queue ?? '');
    if (!queue) {
      process.stderr.write(
        `No dead-letter queue "${parsed.queue}"; the stack has: ${queues.map((q) => q.name).join(', ')}\n`,
      );
      return 2;
    }
    const result = await redriveQueue(target.clients, queue, target.outputs.EventBusName);
    process.stdout.write(
      `${queue.name}: redrove ${result.redriven.length} message(s)${result.failed.length > 0 ? `, ${result.failed.length} failed (left in the queue)` : ''}\n`,
    );
    for (const failure of result.failed) {
      process.stderr.write(`  ${failure.messageId}: ${failure.reason}\n`);
    }
    return result.failed.length > 0 ? 1 : 0;
  } catch (error) {
    const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    process.stderr.write(`Failed talking to ${target.where}: ${reason}\n`);
    return 1;
  }
}

function parse(argv: string[]) {
  const { values, positionals } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: true,
    options: {
      endpoint: { type: 'string' },
      'outputs-file': { type: 'string' },
      stack: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    return {
      help: true,
      command: 'list',
      queue: undefined,
      endpoint: undefined,
      outputsFile: undefined,
      stack: undefined,
    } as const;
  }
  const [command, queue, ...extra] = positionals;
  if (command !== 'list' && command !== 'redrive') {
    throw new Error(command ? `Unknown command "${command}"` : 'A command is required');
  }
  if (command === 'redrive' && !queue) throw new Error('redrive needs a queue, e.g. completion');
  if ((command === 'list' && queue) || extra.length > 0) {
    throw new Error(`Unexpected argument "${command === 'list' ? queue : extra[0]}"`);
  }
  if (values.endpoint && values['outputs-file']) {
    throw new Error('--endpoint and --outputs-file cannot be used together');
  }
  if (values.endpoint && !/^https?:\/\/\S+$/.test(values.endpoint)) {
    throw new Error(`--endpoint must be an http(s) URL, got "${values.endpoint}"`);
  }
  return {
    help: false as const,
    command,
    queue,
    endpoint: values.endpoint,
    outputsFile: values['outputs-file'],
    stack: values.stack,
  };
}

export function resolveTarget(options: {
  readonly endpoint?: string;
  readonly outputsFile?: string;
  readonly stack?: string;
  readonly stateFile?: string;
}): Target {
  if (options.outputsFile) return awsTarget(options.outputsFile, options.stack);
  const stateFile = resolve(options.stateFile ?? STATE_FILE);
  const state = readStateFile(stateFile);
  const running = state !== undefined && isAlive(state.pid);
  if (!running && !options.endpoint) {
    throw new Error(
      state
        ? `No running local cloud: ${stateFile} was written by process ${state.pid}, which is gone. Start one with npm start.`
        : `No running local cloud: ${stateFile} does not exist. Start one with npm start, or pass --outputs-file for a deployed stack.`,
    );
  }
  if (!state) {
    throw new Error(
      `--endpoint needs the stack's outputs and a local identity from ${stateFile}, which does not exist; start the local cloud with npm start from this directory.`,
    );
  }
  const endpoint = options.endpoint ?? state.awsEndpoint;
  const config = {
    endpoint,
    region: state.region,
    credentials: state.credentials,
    maxAttempts: 1,
  };
  return {
    where: `the local cloud at ${endpoint}`,
    outputs: state.outputs,
    clients: {
      sqs: new SQSClient(config),
      events: new EventBridgeClient(config),
      lambda: new LambdaClient(config),
    },
  };
}

function awsTarget(file: string, stack: string | undefined): Target {
  let all: Record<string, Record<string, string>>;
  try {
    all = JSON.parse(readFileSync(file, 'utf8')) as Record<string, Record<string, string>>;
  } catch (error) {
    throw new DlqUsageError(`Cannot read the outputs file ${file}: ${String(error)}`);
  }
  const names = Object.keys(all);
  const name = stack ?? (names.length === 1 ? names[0] : undefined);
  const outputs = name === undefined ? undefined : all[name];
  if (!outputs) {
    throw new DlqUsageError(
      stack
        ? `The outputs file has no stack ${stack}; it has ${names.join(', ')}`
        : `The outputs file holds ${names.length} stacks (${names.join(', ')}); pick one with --stack`,
    );
  }
  if (!process.env.AWS_ACCESS_KEY_ID && !process.env.AWS_PROFILE) {
    process.stderr.write(
      'No AWS_ACCESS_KEY_ID or AWS_PROFILE in the environment; trying the SDK default credential chain.\n',
    );
  }
  return {
    where: `AWS (stack ${name})`,
    outputs,
    clients: {
      sqs: new SQSClient({}),
      events: new EventBridgeClient({}),
      lambda: new LambdaClient({}),
    },
  };
}

if (isEntryPoint(import.meta)) void runMain(main);
