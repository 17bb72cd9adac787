/**
 * An execution environment's runtime in a child process of its own, on the
 * Node binary of the function's runtime (runner.ts): the runtime's messages
 * go over the IPC channel, its stdout and stderr over pipes, its memory is
 * `--max-old-space-size`. Unlike a thread, the function's `NODE_OPTIONS`
 * applies in full, as on Lambda.
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { fileURLToPath } from 'node:url';
import { type HostOptions, memoryLimits, RUNTIME_SCRIPT, type RuntimeHost } from './runtime-host';

/** What V8 prints to stderr before it aborts on a full heap. */
const OUT_OF_MEMORY = 'JavaScript heap out of memory';
/** How long after the exit its output may still be read (a grandchild can hold the pipes open). */
const OUTPUT_GRACE_MS = 500;

export function startProcess(nodePath: string, options: HostOptions): RuntimeHost {
  const memory = memoryLimits(options.memoryMb);
  const child = spawn(
    nodePath,
    [
      `--max-old-space-size=${memory.heapMb}`,
      // A young generation is three semi-spaces: about the threads' cap.
      `--max-semi-space-size=${Math.max(1, Math.round(memory.youngMb / 3))}`,
      fileURLToPath(RUNTIME_SCRIPT),
    ],
    {
      env: options.env,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      // Structured clone, as a worker's postMessage.
      serialization: 'advanced',
    },
  );
  const { stdout, stderr } = child;
  // Never null with these stdio settings; the types cannot tell.
  if (!stdout || !stderr) throw new Error('A Lambda runtime process started without pipes');
  let outOfMemory = false;
  let stderrTail = '';
  stderr.on('data', (chunk: Buffer) => {
    // The tail carries a marker split across two chunks.
    const text = stderrTail + chunk.toString('latin1');
    if (text.includes(OUT_OF_MEMORY)) outOfMemory = true;
    stderrTail = text.slice(-OUT_OF_MEMORY.length);
  });

  let exited = false;
  let exitCode = 1;
  let spawnError: Error | undefined;
  const finish = () => {
    if (exited) return;
    exited = true;
    const report = spawnError
      ? `Could not start the Lambda runtime on ${nodePath}: ${spawnError.message}`
      : undefined;
    options.onExit({ exitCode, outOfMemory, ...(report ? { report } : {}) });
  };
  child.on('message', (message: unknown) => options.onMessage(message));
  child.on('error', (error) => {
    // Either it could not start (no exit follows), or a message could not be sent (one will).
    if (child.pid === undefined) {
      spawnError = error;
      exitCode = 127;
      finish();
    }
  });
  child.on('exit', (code, signal) => {
    exitCode = code ?? 128 + (signal ? constants.signals[signal] : 0);
    // `close` comes once stdout and stderr are read to their end; it reports the exit.
    setTimeout(finish, OUTPUT_GRACE_MS).unref();
  });
  child.on('close', finish);
  child.send({ type: 'setup', setup: options.setup }, () => {});
  return {
    stdout,
    stderr,
    send: (message) => {
      // A process that has gone reports its exit; the message is lost, as it would be.
      if (child.connected) child.send(message, () => {});
    },
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}
