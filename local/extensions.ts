/**
 * Extensions: what an app adds to the local cloud without the local cloud
 * knowing the app. An extension is given to `startLocalCloud` (`extensions`)
 * and started with each cloud (a restart starts it again); what its start
 * returns is hooked in until that cloud stops:
 *
 * - `handleRequest`: a request on an HTTP API's port, before API Gateway
 *   routes it, with the gateway's own IAM authorization at hand;
 * - `onEvent`: every event the template's buses accept;
 * - `notes`: lines for the startup notes (and so the banner);
 * - `close`: called at stop, before the services stop.
 *
 * eventjobs serves its job event stream this way (`devserver/job-stream.ts`).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  type GatewayRequest,
  type GatewayResponse,
  type IamAuthorization,
  type LocalHttpApi,
  receivedHeaders,
  writeGatewayResponse,
} from './apigw';
import { gatewayError } from './apigw/response';
import type { LocalEnv, LogSink } from './contracts';
import type { EventEnvelope, LocalEventBridge } from './eventbridge/bus';

export type { GatewayRequest, GatewayResponse, IamAuthorization } from './apigw';
export type { LocalCredential, LocalEnv } from './contracts';
export type { EventEnvelope } from './eventbridge/bus';

/** Something an app adds to the local cloud (see the module comment). */
export interface LocalCloudExtension {
  /** A short name, for log lines. */
  readonly name: string;
  /**
   * Called once per local cloud, after its services are up and before its
   * ports serve a request. A throw (or rejection) fails the cloud's start.
   */
  start(context: ExtensionContext): ExtensionHooks | Promise<ExtensionHooks>;
}

/** What an extension learns of the cloud it is started with. */
export interface ExtensionContext {
  /** The cloud's region and account. */
  readonly env: LocalEnv;
}

/** How a started extension hooks into its cloud; every hook is optional. */
export interface ExtensionHooks {
  /** Lines for the startup notes (and so the banner), after the local cloud's own. */
  readonly notes?: readonly string[];
  /**
   * Each event a bus of the template accepted, in the order accepted, before
   * any rule's target gets it. A throw is logged and changes nothing else.
   */
  onEvent?(event: EventEnvelope, busName: string): void;
  /**
   * A request on an HTTP API's port under its stage, before API Gateway routes
   * it. Return `undefined` to leave it to the gateway (and the next
   * extension); to take it, return a promise and answer through
   * `request.res`. A rejection is logged and answered with a bare 500.
   */
  handleRequest?(request: ExtensionRequest): Promise<void> | undefined;
  /** Called once at stop, before the services stop; extensions close in reverse order. */
  close?(): void | Promise<void>;
}

/** A request on an HTTP API's port, as an extension sees it. */
export interface ExtensionRequest {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  /** The API's name in the template. */
  readonly apiName: string;
  /** The stage's path prefix: `''` for `$default`, else `/<stage>`. */
  readonly stagePrefix: string;
  readonly method: string;
  /** The path after the stage prefix (e.g. `/jobs/x/events`), still percent-encoded. */
  readonly path: string;
  /** The query string as received, without `?`. */
  readonly rawQuery: string;
  /**
   * IAM (SigV4) authorization as API Gateway does it for an `AWS_IAM` route:
   * resolves with the caller (the local credential that signed the request),
   * or with the 403 answer to `respond` with. The body is not read: it is
   * taken as empty, as a GET's is.
   */
  authorize(): Promise<IamAuthorization>;
  /**
   * The API itself, as a function: routing, IAM authorization, the
   * integration. For a request the extension makes on the caller's behalf;
   * it must be signed like any other.
   */
  callApi(request: GatewayRequest): Promise<GatewayResponse>;
  /** Sends a gateway answer (a refusal from `authorize`, an answer of `callApi`) as the response. */
  respond(answer: GatewayResponse): void;
}

/** The extensions of one running cloud, started and hooked in. */
export interface StartedExtensions {
  /** Their notes, in the order the extensions were given. */
  readonly notes: readonly string[];
  /** A node `request` listener for `api`'s port: extensions first, then the gateway. */
  serve(api: LocalHttpApi, req: IncomingMessage, res: ServerResponse): void;
  close(): Promise<void>;
}

interface Started {
  readonly name: string;
  readonly hooks: ExtensionHooks;
}

/**
 * Starts each extension in turn and subscribes the event hooks to the bus.
 * When one fails to start, those started before it are closed.
 */
export async function startExtensions(
  extensions: readonly LocalCloudExtension[],
  cloud: { readonly env: LocalEnv; readonly events: LocalEventBridge; readonly log: LogSink },
): Promise<StartedExtensions> {
  const started: Started[] = [];
  const unsubscribes: (() => void)[] = [];
  const close = async () => {
    for (const unsubscribe of unsubscribes.splice(0)) unsubscribe();
    for (const { name, hooks } of started.splice(0).reverse()) {
      try {
        await hooks.close?.();
      } catch (error) {
        cloud.log.line('local', `extension ${name} failed to close: ${String(error)}`);
      }
    }
  };
  try {
    for (const extension of extensions) {
      const hooks = await extension.start({ env: cloud.env });
      started.push({ name: extension.name, hooks });
      const onEvent = hooks.onEvent?.bind(hooks);
      if (onEvent) unsubscribes.push(cloud.events.observe((bus, event) => onEvent(event, bus)));
    }
  } catch (error) {
    await close();
    throw error;
  }
  const handlers = started.filter(({ hooks }) => hooks.handleRequest !== undefined);
  return {
    notes: started.flatMap(({ hooks }) => hooks.notes ?? []),
    serve: (api, req, res) => {
      if (handlers.length === 0 || !dispatch(handlers, api, req, res, cloud.log)) {
        api.handle(req, res);
      }
    },
    close,
  };
}

/** Offers the request to each extension in turn; true when one took it. */
function dispatch(
  handlers: readonly Started[],
  api: LocalHttpApi,
  req: IncomingMessage,
  res: ServerResponse,
  log: LogSink,
): boolean {
  const stage = api.spec.stage.name;
  const stagePrefix = stage === '$default' ? '' : `/${stage}`;
  const target = req.url ?? '/';
  const queryAt = target.indexOf('?');
  const rawPath = queryAt < 0 ? target : target.slice(0, queryAt);
  if (!rawPath.startsWith(`${stagePrefix}/`)) return false;
  const rawQuery = queryAt < 0 ? '' : target.slice(queryAt + 1);
  const method = req.method ?? 'GET';
  const request: ExtensionRequest = {
    req,
    res,
    apiName: api.spec.name,
    stagePrefix,
    method,
    path: rawPath.slice(stagePrefix.length),
    rawQuery,
    authorize: () =>
      api.authorize(
        { method, rawPath, rawQuery, headers: receivedHeaders(req), body: new Uint8Array() },
        `${method} ${rawPath}`,
      ),
    callApi: (gatewayRequest) => api.handleRequest(gatewayRequest),
    respond: (answer) => writeGatewayResponse(res, answer),
  };
  for (const { name, hooks } of handlers) {
    let answering: Promise<void> | undefined;
    try {
      answering = hooks.handleRequest?.(request);
    } catch (error) {
      answering = Promise.reject(error);
    }
    if (answering === undefined) continue;
    answering.catch((error: unknown) => {
      log.line('local', `extension ${name} failed on ${method} ${rawPath}: ${String(error)}`);
      // Once the answer has begun (a stream), it can only be cut short.
      if (res.headersSent) res.end();
      else writeGatewayResponse(res, gatewayError(500, 'Internal Server Error'));
    });
    return true;
  }
  return false;
}
