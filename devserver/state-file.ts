/**
 * `.eventjobs/local.json`: what a running `npm start` or `eventjobs dev`
 * (serve.ts) tells other tools (`npm run dlq`, `eventjobs`) about
 * itself: its process, endpoints, a local identity and the stack's outputs.
 * Written at start, rewritten at a restart, removed at a clean stop; a file
 * left by a killed cloud is recognised by its dead process id.
 */
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { RunningLocalCloud } from '../local/cloud';

export const STATE_FILE = '.eventjobs/local.json';

export interface LocalCloudState {
  readonly pid: number;
  readonly startedAt: string;
  readonly stackName: string;
  readonly region: string;
  readonly apiUrl: string;
  readonly awsEndpoint: string;
  /** A local identity that may call every local AWS API (the local cloud does not enforce IAM policies on it). */
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
  /** That identity's ARN: the owner its jobs are filed under. */
  readonly identityArn?: string;
  readonly outputs: Readonly<Record<string, string>>;
}

export function writeStateFile(path: string, cloud: RunningLocalCloud): void {
  const user = cloud.users[0];
  if (!user) throw new Error('the local cloud has no identity to record');
  const state: LocalCloudState = {
    pid: process.pid,
    startedAt: new Date().toISOString(),
    stackName: cloud.stackName,
    region: cloud.region,
    apiUrl: cloud.apiUrl,
    awsEndpoint: cloud.awsEndpoint,
    credentials: { accessKeyId: user.accessKeyId, secretAccessKey: user.secretAccessKey },
    identityArn: user.arn,
    outputs: cloud.outputs,
  };
  mkdirSync(dirname(path), { recursive: true });
  // Written beside it and renamed over it: a reader (the CLI, a test) never sees half a file.
  const partial = `${path}.${process.pid}.tmp`;
  writeFileSync(partial, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  renameSync(partial, path);
}

/** Removes the file if this process wrote it (another cloud may have started since). */
export function removeStateFile(path: string): void {
  const state = readStateFile(path);
  if (state?.pid === process.pid) rmSync(path, { force: true });
}

/** The recorded state, or undefined when there is no (readable) file. */
export function readStateFile(path: string): LocalCloudState | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  const value: unknown = JSON.parse(text);
  if (typeof value !== 'object' || value === null) return undefined;
  return value as LocalCloudState;
}

/** Whether the process that wrote the state is still alive. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
