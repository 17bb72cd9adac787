/**
 * `eventjobs/local`: the local cloud, started from code, for an app's own
 * end-to-end tests, with the job event stream (`GET /jobs/{name}/events`,
 * devserver/job-stream.ts) as `eventjobs dev` serves it:
 *
 * ```ts
 * const cloud = await startLocalCloud({ assembly: 'cdk.out' });
 * const client = createClient({ url: cloud.apiUrl, region: cloud.region, credentials: cloud.users[0] });
 * // ...
 * await cloud.stop();
 * ```
 */
import { resolve } from 'node:path';
import { jobStreamExtension } from '../devserver/job-stream';
import {
  type LocalCloudOptions,
  type RunningLocalCloud,
  startLocalCloud as start,
} from '../local/cloud';

export type { LocalCloudUsage, RunningLocalCloud } from '../local/cloud';

/** What `startLocalCloud` takes: the cloud assembly, and the local cloud's options. */
export interface StartLocalCloudOptions extends Partial<LocalCloudOptions> {
  /**
   * The synthesized cloud assembly (`cdk synth`'s output), relative to the working directory.
   *
   * @default 'cdk.out'
   */
  readonly assembly?: string;
}

/**
 * Starts the local cloud on the assembly's stack, with the job event stream
 * (`extensions` are added after it). Unlike `eventjobs dev`, it picks free
 * ports and prints nothing by default, as a test wants.
 */
export function startLocalCloud(options: StartLocalCloudOptions = {}): Promise<RunningLocalCloud> {
  const { assembly, ...rest } = options;
  return start({
    apiPort: 0,
    awsPort: 0,
    quiet: true,
    ...rest,
    assemblyDir: resolve(options.assemblyDir ?? assembly ?? 'cdk.out'),
    extensions: [jobStreamExtension(), ...(rest.extensions ?? [])],
  });
}

export type { LocalCloudOptions };
