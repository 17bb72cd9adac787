/**
 * A local cloud in a child process of its own (`devserver/cli.ts`, no tsx
 * wrapper), so a test can SIGKILL it and start it again on the same `--data`.
 * Resolves once its banner has been printed, with what the banner says.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Api } from './http';

const ROOT = resolve(import.meta.dirname, '../..');

export async function startCloudProcess(
  args: string[],
  cwd: string,
): Promise<{ child: ChildProcess; api: Api }> {
  // One process (no tsx wrapper), so SIGKILL kills the cloud itself. Run from the
  // scratch directory, so its .eventjobs/local.json is not the developer's.
  const tsx = import.meta.resolve('tsx');
  const child = spawn(
    process.execPath,
    ['--import', tsx, join(ROOT, 'devserver/cli.ts'), ...args],
    {
      cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    },
  );
  let output = '';
  const api = await new Promise<Api>((resolveApi, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`the local cloud did not start:\n${output}`)),
      60_000,
    );
    child.once('exit', (code) => reject(new Error(`the local cloud exited (${code}):\n${output}`)));
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (!output.includes('Press Ctrl-C to stop.')) return;
      clearTimeout(timer);
      const apiUrl = /API base URL\s+(\S+)/.exec(output)?.[1];
      const awsEndpoint = /AWS endpoint\s+(\S+)/.exec(output)?.[1];
      const region = /Region\s+(\S+)/.exec(output)?.[1] ?? 'us-east-1';
      const keys = /AWS_ACCESS_KEY_ID=(\S+) AWS_SECRET_ACCESS_KEY=(\S+)/.exec(output);
      const tableName = /"TableName": "([^"]+)"/.exec(output)?.[1];
      if (!apiUrl || !awsEndpoint || !keys?.[1] || !keys[2]) {
        reject(new Error(`cannot read the banner:\n${output}`));
        return;
      }
      resolveApi({
        apiUrl,
        awsEndpoint,
        region,
        user: { accessKeyId: keys[1], secretAccessKey: keys[2] },
        tableName: tableName ?? '',
      });
    });
  });
  return { child, api: api.tableName ? api : { ...api, tableName: await findTable(api) } };
}

async function findTable(api: Api): Promise<string> {
  const { ListTablesCommand } = await import('@aws-sdk/client-dynamodb');
  const client = new DynamoDBClient({
    endpoint: api.awsEndpoint,
    region: api.region,
    credentials: api.user,
  });
  const tables = await client.send(new ListTablesCommand({}));
  client.destroy();
  const name = tables.TableNames?.find((table) => table.includes('Jobs'));
  if (!name) throw new Error('the local cloud has no jobs table');
  return name;
}
