// @ts-check
/**
 * Lambda's Node.js runtime, as far as a function can tell, running inside one
 * execution environment: a worker thread (thread-host.ts), or a child process
 * on another Node (process-host.ts), which it tells apart by `parentPort`. It
 * loads the handler once (the cold start), then serves invocations the parent
 * sends, one at a time. A thread talks through its port and gets its setup as
 * `workerData`; a process talks over its IPC channel (`process.send`, `message`
 * events) and gets its setup as the first message, so that nothing of it shows
 * in the function's `process.argv` or `process.env`.
 *
 * Plain JavaScript on purpose: a worker thread starts without the TypeScript
 * loader that tsx or vitest install in the main thread, and it is started with
 * an empty `execArgv` so the function's bundle runs on plain Node as it does on
 * Lambda; a process runs a Node binary that has no loader at all. `@ts-check` and the JSDoc types keep it checked all the same
 * (`npx tsc --noEmit --allowJs --checkJs --strict local/lambda/worker-runtime.mjs ...`).
 *
 * Behaviour follows aws-lambda-nodejs-runtime-interface-client: module lookup
 * (`''`, `.js`, `.mjs`, `.cjs`, then `require.resolve`), handler lookup (also
 * under `default`), error names (`Runtime.ImportModuleError`,
 * `Runtime.HandlerNotFound`, ...), error payloads `{errorType, errorMessage,
 * trace}`, and no callback handlers from nodejs24.x on.
 *
 * Messages to the parent: `ready` | `init-error` after loading; `result` |
 * `error` per invocation; `fatal` before the runtime exits on an uncaught
 * exception (exit 129) or an unhandled rejection (exit 128), as Lambda's
 * runtime does. After each invocation it writes FLUSH_MARK to stdout and
 * stderr so the parent knows it has all of that invocation's output: stdio
 * and messages travel on different channels and can arrive out of order.
 */
import { existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parentPort, Worker, workerData } from 'node:worker_threads';

/** Keep in sync with `FLUSH_MARK` in environment.ts. */
const FLUSH_MARK = '\u0000local-lambda-flush:';
/** A process's guard against outliving its parent: the parent pid it started with is `workerData`. */
const WATCHDOG = `
  const { workerData } = require('node:worker_threads');
  setInterval(() => {
    if (process.ppid !== workerData) process.kill(process.pid, 'SIGKILL');
  }, 1000);
`;

/**
 * @typedef {{ errorType: string, errorMessage: string, trace: string[] }} ErrorPayload
 * @typedef {(event: unknown, context: LambdaContext, callback: Callback) => unknown} Handler
 * @typedef {(error?: unknown, result?: unknown) => void} Callback
 * @typedef {{
 *   codeDir: string,
 *   handler: string,
 *   runtime: string,
 *   functionName: string,
 *   memorySize: string,
 *   logGroupName: string,
 *   logStreamName: string,
 * }} Setup
 * @typedef {{
 *   type: 'invoke',
 *   requestId: string,
 *   payload: string,
 *   deadlineMs: number,
 *   invokedFunctionArn: string,
 *   clientContext?: unknown,
 * }} InvokeMessage
 * @typedef {{
 *   send: (message: object, then?: () => void) => void,
 *   onMessage: (listener: (message: InvokeMessage) => void) => void,
 * }} Channel
 * @typedef {{
 *   callbackWaitsForEmptyEventLoop: boolean,
 *   functionName: string,
 *   functionVersion: string,
 *   invokedFunctionArn: string,
 *   memoryLimitInMB: string,
 *   awsRequestId: string,
 *   logGroupName: string,
 *   logStreamName: string,
 *   identity: undefined,
 *   clientContext: unknown,
 *   getRemainingTimeInMillis: () => number,
 *   done: Callback,
 *   fail: (error: unknown) => void,
 *   succeed: (result: unknown) => void,
 * }} LambdaContext
 */

class RuntimeError extends Error {
  /**
   * @param {string} name
   * @param {string} message
   */
  constructor(name, message) {
    super(message);
    this.name = name;
  }
}

/**
 * The way to the parent, and the setup it gives.
 * @returns {Promise<{ channel: Channel, setup: Setup }>}
 */
async function connect() {
  const port = parentPort;
  if (port) {
    /** @type {Channel} */
    const channel = {
      send: (message, then) => {
        port.postMessage(message);
        then?.();
      },
      onMessage: (listener) => port.on('message', listener),
    };
    return { channel, setup: workerData };
  }
  const send = process.send?.bind(process);
  if (!send) {
    throw new Error(
      'worker-runtime.mjs runs in a worker thread or in a child process with an IPC channel',
    );
  }
  // The parent went without stopping this process (it was killed): the environment goes
  // too, as a thread would. A handler in a busy loop never sees `disconnect`, so a
  // thread of its own also watches for the process being handed to another parent.
  process.on('disconnect', () => process.exit(1));
  new Worker(WATCHDOG, {
    eval: true,
    workerData: process.ppid,
    // None of the function's preloads (`NODE_OPTIONS`) or variables.
    execArgv: [],
    env: {},
    stdout: true,
    stderr: true,
    resourceLimits: { maxOldGenerationSizeMb: 8, maxYoungGenerationSizeMb: 1 },
  }).unref();
  /** @type {Setup} */
  const setup = await new Promise((resolve) => {
    process.once('message', (/** @type {{ setup: Setup }} */ message) => resolve(message.setup));
  });
  /** @type {Channel} */
  const channel = {
    // The callback also runs when the message could not be sent: the parent is gone.
    send: (message, then) => void send(message, undefined, undefined, () => then?.()),
    onMessage: (listener) => process.on('message', listener),
  };
  return { channel, setup };
}

const { channel, setup } = await connect();

/**
 * @param {unknown} error
 * @returns {ErrorPayload}
 */
function formatError(error) {
  if (error instanceof Error) {
    return {
      errorType: error.name,
      errorMessage: error.message,
      trace: error.stack ? error.stack.split('\n') : [],
    };
  }
  return { errorType: typeof error, errorMessage: String(error), trace: [] };
}

/**
 * `dir/file.export.path` -> module `dir/file`, export path `export.path`.
 * @param {string} handlerString
 */
function parseHandler(handlerString) {
  if (handlerString.includes('..')) {
    throw new RuntimeError(
      'Runtime.MalformedHandlerName',
      `'${handlerString}' is not a valid handler name. Use absolute paths when specifying root directories in handler names.`,
    );
  }
  const slash = handlerString.lastIndexOf('/');
  const moduleRoot = handlerString.slice(0, slash + 1);
  const rest = handlerString.slice(slash + 1);
  const dot = rest.indexOf('.');
  if (dot <= 0 || dot === rest.length - 1) {
    throw new RuntimeError('Runtime.MalformedHandlerName', 'Bad handler');
  }
  return { moduleRoot, moduleName: rest.slice(0, dot), handlerName: rest.slice(dot + 1) };
}

/**
 * @param {string} codeDir
 * @param {string} moduleRoot
 * @param {string} moduleName
 * @returns {Promise<unknown>}
 */
async function loadModule(codeDir, moduleRoot, moduleName) {
  const base = path.resolve(codeDir, moduleRoot, moduleName);
  try {
    for (const extension of ['', '.js', '.mjs', '.cjs']) {
      const file = `${base}${extension}`;
      if (existsSync(file) && statSync(file).isFile()) {
        return await import(pathToFileURL(file).href);
      }
    }
    const require = createRequire(path.join(codeDir, 'index.js'));
    const resolved = require.resolve(moduleName, {
      paths: [codeDir, path.join(codeDir, moduleRoot)],
    });
    return require(resolved);
  } catch (error) {
    if (error instanceof SyntaxError) {
      const wrapped = new RuntimeError('Runtime.UserCodeSyntaxError', String(error));
      wrapped.stack = error.stack;
      throw wrapped;
    }
    const code = error instanceof Error && 'code' in error ? error.code : undefined;
    if (code === 'MODULE_NOT_FOUND' || code === 'ERR_MODULE_NOT_FOUND') {
      throw new RuntimeError('Runtime.ImportModuleError', String(error));
    }
    throw error;
  }
}

/**
 * @param {unknown} module
 * @param {string} handlerName
 * @param {string} handlerString
 * @returns {Handler}
 */
function resolveHandler(module, handlerName, handlerString) {
  /** @param {unknown} root */
  const find = (root) =>
    handlerName
      .split('.')
      .reduce(
        (/** @type {unknown} */ node, key) =>
          node && typeof node === 'object' ? Reflect.get(node, key) : undefined,
        root,
      );
  let handler = find(module);
  if (!handler && module && typeof module === 'object' && 'default' in module) {
    handler = find(module.default);
  }
  if (!handler) {
    throw new RuntimeError(
      'Runtime.HandlerNotFound',
      `${handlerString} is undefined or not exported`,
    );
  }
  if (typeof handler !== 'function') {
    throw new RuntimeError('Runtime.HandlerNotFound', `${handlerString} is not a function`);
  }
  return /** @type {Handler} */ (handler);
}

/** nodejs24.x and later dropped callback handlers; older runtimes still take them. */
function callbacksRemoved() {
  const match = /^nodejs(\d+)/.exec(setup.runtime);
  return match ? Number(match[1]) >= 24 : false;
}

/** @returns {Promise<Handler>} */
async function init() {
  const { moduleRoot, moduleName, handlerName } = parseHandler(setup.handler);
  const module = await loadModule(setup.codeDir, moduleRoot, moduleName);
  const handler = resolveHandler(module, handlerName, setup.handler);
  if (handler.length >= 3 && callbacksRemoved()) {
    throw new RuntimeError(
      'Runtime.CallbackHandlerDeprecated',
      'ERROR: AWS Lambda has removed support for callback-based function handlers starting with Node.js 24. You need to modify this function to use a supported handler signature to use Node.js 24 or later. For more information see https://docs.aws.amazon.com/lambda/latest/dg/nodejs-handler.html.',
    );
  }
  return handler;
}

/**
 * @param {Handler} handler
 * @param {unknown} event
 * @param {InvokeMessage} message
 * @returns {Promise<unknown>}
 */
function callHandler(handler, event, message) {
  return new Promise((resolve, reject) => {
    /** @type {Callback} */
    const callback = (error, result) => {
      if (error !== undefined && error !== null) reject(error);
      else resolve(result);
    };
    /** @type {LambdaContext} */
    const context = {
      callbackWaitsForEmptyEventLoop: true,
      functionName: setup.functionName,
      functionVersion: '$LATEST',
      invokedFunctionArn: message.invokedFunctionArn,
      memoryLimitInMB: setup.memorySize,
      awsRequestId: message.requestId,
      logGroupName: setup.logGroupName,
      logStreamName: setup.logStreamName,
      identity: undefined,
      clientContext: message.clientContext,
      getRemainingTimeInMillis: () => Math.max(0, message.deadlineMs - Date.now()),
      done: callback,
      fail: (error) => reject(error ?? 'handled'),
      succeed: (result) => resolve(result),
    };
    try {
      const returned = handler(event, context, callback);
      if (returned && typeof returned === 'object' && 'then' in returned) {
        Promise.resolve(returned).then(resolve, reject);
      } else if (handler.length < 3) {
        // A plain function's return value is its result (nodejs24.x behaviour);
        // a callback handler answers through the callback instead.
        resolve(returned);
      }
    } catch (error) {
      reject(error);
    }
  });
}

/** @param {string} requestId */
function flush(requestId) {
  process.stdout.write(`${FLUSH_MARK}${requestId}\n`);
  process.stderr.write(`${FLUSH_MARK}${requestId}\n`);
}

/**
 * @param {Handler} handler
 * @param {InvokeMessage} message
 */
async function invoke(handler, message) {
  const { requestId } = message;
  try {
    const result = await callHandler(handler, JSON.parse(message.payload), message);
    let payload;
    try {
      payload = JSON.stringify(result === undefined ? null : result) ?? 'null';
    } catch {
      throw new RuntimeError('Runtime.JSONStringifyError', 'Unable to stringify response body');
    }
    flush(requestId);
    channel.send({ type: 'result', requestId, payload });
  } catch (error) {
    flush(requestId);
    channel.send({ type: 'error', requestId, error: formatError(error) });
  }
}

/**
 * Sends what killed the runtime, then ends it with Lambda's exit code (once
 * sent: a process's IPC is asynchronous).
 * @param {string} label
 * @param {ErrorPayload} error
 * @param {number} exitCode
 */
function die(label, error, exitCode) {
  channel.send({ type: 'fatal', label, error }, () => process.exit(exitCode));
}

process.on('uncaughtException', (error) => die('Uncaught Exception', formatError(error), 129));
process.on('unhandledRejection', (reason) => {
  const error = formatError(new RuntimeError('Runtime.UnhandledPromiseRejection', String(reason)));
  die('Unhandled Promise Rejection', error, 128);
});

const started = performance.now();
try {
  const handler = await init();
  channel.onMessage((message) => {
    if (message.type === 'invoke') void invoke(handler, message);
  });
  channel.send({ type: 'ready', initDurationMs: performance.now() - started });
} catch (error) {
  channel.send({
    type: 'init-error',
    error: formatError(error),
    initDurationMs: performance.now() - started,
  });
}
