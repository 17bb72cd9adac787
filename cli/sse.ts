/**
 * Moved to `client/sse.ts`. This re-export keeps `test/e2e/stream.test.ts`,
 * which parses the local cloud's stream itself, compiling until it imports
 * the parser from there.
 */
export { type SseMessage, SseParser } from '../client/sse';
