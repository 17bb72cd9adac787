/**
 * Moved to `client/` (`events.ts`, `sse.ts`, `websocket.ts`). These re-exports
 * keep `demo/` and `bench/`, which read event streams of their own, compiling
 * until they import them from there.
 */
export type { EventSourceFn, JobEvent, StreamItem } from '../client/events';
export { sseSource } from '../client/sse';
