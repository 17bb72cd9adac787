/** The parent's side of the benchmark host (bench/host.ts): start it, ask it things, stop it. */
import { type ChildProcess, fork } from 'node:child_process';
import { join, resolve } from 'node:path';
import type { HostRequest } from './protocol';

const ROOT = resolve(import.meta.dirname, '..');

export class BenchHost {
  #nextId = 1;
  readonly #pending = new Map<
    number,
    { resolve: (value: unknown) => void; reject: (error: Error) => void }
  >();
  readonly #child: ChildProcess;

  private constructor(child: ChildProcess) {
    this.#child = child;
    child.on('message', (message: { id?: number; result?: unknown; error?: string }) => {
      if (message.id === undefined) return;
      const waiter = this.#pending.get(message.id);
      if (!waiter) return;
      this.#pending.delete(message.id);
      if (message.error !== undefined) waiter.reject(new Error(`bench host: ${message.error}`));
      else waiter.resolve(message.result);
    });
    child.on('exit', (code, signal) => {
      for (const waiter of this.#pending.values()) {
        waiter.reject(new Error(`the bench host exited (${signal ?? code})`));
      }
      this.#pending.clear();
    });
  }

  static async start(
    assemblyDir: string,
    options: { readonly accountConcurrency?: number } = {},
  ): Promise<BenchHost> {
    const child = fork(join(ROOT, 'bench/host.ts'), [JSON.stringify({ assemblyDir, ...options })], {
      cwd: ROOT,
      execArgv: ['--expose-gc', '--import', 'tsx'],
      env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    await new Promise<void>((resolveReady, reject) => {
      const onMessage = (message: { ready?: boolean }) => {
        if (message.ready) {
          child.off('exit', onExit);
          resolveReady();
        }
      };
      const onExit = (code: number | null) => reject(new Error(`the bench host exited (${code})`));
      child.on('message', onMessage);
      child.once('exit', onExit);
    });
    return new BenchHost(child);
  }

  get pid(): number {
    return this.#child.pid ?? 0;
  }

  ask<T>(request: HostRequest): Promise<T> {
    const id = this.#nextId++;
    return new Promise<T>((resolveAnswer, reject) => {
      this.#pending.set(id, { resolve: resolveAnswer as (value: unknown) => void, reject });
      this.#child.send({ id, request });
    });
  }

  /** Stops the cloud (answering its dead-letter report) and waits for the process to end. */
  async stop(): Promise<string> {
    const report = await this.ask<string>({ kind: 'stop' }).catch(() => '');
    const exited = new Promise<void>((done) => {
      if (this.#child.exitCode !== null) done();
      else this.#child.once('exit', () => done());
    });
    this.#child.disconnect();
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
    return report;
  }
}
