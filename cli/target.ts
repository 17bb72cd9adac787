/**
 * Moved to `client/target.ts`. This re-export keeps `demo/`, which builds its
 * own target, compiling until it imports it from there.
 */
export type { Target } from '../client/target';
