/**
 * An execution environment's runtime in a worker thread of this process: on
 * this process's Node, with V8's resource limits as its memory.
 */
import { Worker } from 'node:worker_threads';
import { type HostOptions, memoryLimits, RUNTIME_SCRIPT, type RuntimeHost } from './runtime-host';

export function startThread(options: HostOptions): RuntimeHost {
  const memory = memoryLimits(options.memoryMb);
  const worker = new Worker(RUNTIME_SCRIPT, {
    env: options.env,
    argv: [],
    // The function's own NODE_OPTIONS cannot reach a thread; this one flag is honoured.
    execArgv: (options.env.NODE_OPTIONS ?? '').includes('--enable-source-maps')
      ? ['--enable-source-maps']
      : [],
    stdout: true,
    stderr: true,
    resourceLimits: {
      maxOldGenerationSizeMb: memory.heapMb,
      maxYoungGenerationSizeMb: memory.youngMb,
    },
    workerData: options.setup,
  });
  let error: Error | undefined;
  worker.on('message', (message: unknown) => options.onMessage(message));
  worker.on('error', (thrown) => {
    error = thrown;
  });
  worker.on('exit', (exitCode) => {
    const outOfMemory =
      error !== undefined && 'code' in error && error.code === 'ERR_WORKER_OUT_OF_MEMORY';
    // An error the runtime's own handlers did not catch.
    const report =
      error && !outOfMemory ? `Uncaught Exception \t${error.stack ?? String(error)}` : undefined;
    options.onExit({ exitCode, outOfMemory, ...(report ? { report } : {}) });
  });
  return {
    stdout: worker.stdout,
    stderr: worker.stderr,
    send: (message) => worker.postMessage(message),
    kill: () => void worker.terminate(),
  };
}
