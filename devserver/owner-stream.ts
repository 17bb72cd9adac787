/**
 * `GET /events` in the local cloud: a Server-Sent Events stream of the
 * lifecycle events of all of the caller's jobs, as they happen, for a live
 * list (the dashboard's). Served by the same extension and hub as the per-job
 * stream (`job-stream.ts`), in the same style:
 *
 * - The gateway's own IAM authorization checks the signature; then the API's
 *   own `GET /jobs?limit=1`, signed with the caller's credential, decides
 *   whether the caller may list jobs at all, and any error it answers (403,
 *   429) is passed on as it is.
 * - The events are those whose `detail.owner` is the caller: the owner the API
 *   files the caller's jobs under. The local identities are IAM users, whose
 *   owner is their ARN under either owner model (`functions/shared/identity.ts`).
 * - Each message is `id: <n>` (a position over all of the cloud's events, rising),
 *   `event: <detail-type>` and `data: <the EventBridge event as JSON>`. The
 *   stream starts with the live events; `Last-Event-ID` first replays the
 *   owner's events after that position that are still kept (the latest 1,000).
 *   It never ends by itself.
 */
import type { EventEnvelope, ExtensionRequest } from '../local/extensions';
import { getAsCaller, headerRecord, type JobStreamOptions } from './job-stream';

/** A comment line this often keeps proxies and clients from closing an idle stream. */
const KEEP_ALIVE_MS = 15_000;
export const OWNER_STREAM_PATH = '/events';

/** Whether a request (path without the stage) is for the owner stream. */
export function isOwnerStream(method: string | undefined, path: string): boolean {
  return method === 'GET' && path === OWNER_STREAM_PATH;
}

/** Serves one `GET /events` (a request `isOwnerStream` recognised). */
export async function serveOwnerEvents(
  request: ExtensionRequest,
  options: JobStreamOptions,
): Promise<void> {
  const { req, res } = request;
  const verdict = await request.authorize();
  if (!verdict.ok) {
    request.respond(verdict.response);
    return;
  }
  if (request.rawQuery !== '') {
    res.writeHead(400, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        error: { code: 'InvalidQuery', message: 'GET /events takes no query parameters' },
      }),
    );
    return;
  }
  // The API decides whether the caller may list jobs; its refusal is the answer.
  const allowed = await getAsCaller(request, verdict.caller, '/jobs?limit=1', options.region);
  if (allowed.status !== 200) {
    request.respond(allowed);
    return;
  }

  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  res.flushHeaders();
  // A comment at once, so that a client knows the stream is open before any event.
  res.write(': subscribed\n\n');

  const resumeAfter = Number.parseInt(headerRecord(req)['last-event-id'] ?? '', 10);
  let sent = 0;
  const send = (event: EventEnvelope, seq: number) => {
    if (seq <= sent) return;
    sent = seq;
    res.write(`id: ${seq}\nevent: ${event['detail-type']}\ndata: ${JSON.stringify(event)}\n\n`);
  };
  const owner = verdict.caller.arn;
  // Subscribed before the history is read: nothing accepted in between can be missed.
  const stop = options.hub.subscribeOwner(owner, send);
  const history =
    Number.isInteger(resumeAfter) && resumeAfter >= 0
      ? options.hub.ownerHistory(owner, resumeAfter)
      : [];
  for (const { event, seq } of history) send(event, seq);
  const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), KEEP_ALIVE_MS);
  req.on('close', () => {
    clearInterval(keepAlive);
    stop();
    res.end();
  });
}
