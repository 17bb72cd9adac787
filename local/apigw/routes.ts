/**
 * HTTP API route selection. AWS picks the most specific route: literal path
 * segments before `{param}` segments before a greedy `{proxy+}`, compared
 * from the left; for the same path, the exact method before `ANY`; and the
 * `$default` route only when nothing else matches.
 */
import type { HttpRouteSpec } from '../contracts';

type Segment =
  | { readonly kind: 'literal'; readonly text: string }
  | { readonly kind: 'param'; readonly name: string }
  | { readonly kind: 'greedy'; readonly name: string };

/** A route key, parsed. */
export interface ParsedRoute {
  readonly route: HttpRouteSpec;
  /** `undefined` for `$default`. */
  readonly method?: string;
  readonly segments: readonly Segment[];
}

export interface RouteMatch {
  readonly route: HttpRouteSpec;
  /** Decoded values of the route's path variables; empty when it has none. */
  readonly pathParameters: Readonly<Record<string, string>>;
}

const SEGMENT_RANK = { literal: 0, param: 1, greedy: 2 } as const;

/** Throws on a route key AWS would not accept. */
export function parseRouteKey(route: HttpRouteSpec): ParsedRoute {
  if (route.routeKey === '$default') return { route, segments: [] };
  const match = /^([A-Z]+) (\/\S*)$/.exec(route.routeKey);
  if (!match) throw new Error(`Invalid route key '${route.routeKey}'`);
  const [, method, path] = match as unknown as [string, string, string];
  const parts = path === '/' ? [] : path.slice(1).split('/');
  const segments = parts.map((part, index): Segment => {
    const variable = /^\{([^{}]+)\}$/.exec(part);
    if (!variable) return { kind: 'literal', text: part };
    const name = variable[1] as string;
    if (name.endsWith('+')) {
      if (index !== parts.length - 1) {
        throw new Error(`Invalid route key '${route.routeKey}': a greedy variable must be last`);
      }
      return { kind: 'greedy', name: name.slice(0, -1) };
    }
    return { kind: 'param', name };
  });
  return { route, method, segments };
}

/** The routes of one API, ready to match requests. */
export class RouteTable {
  readonly #routes: readonly ParsedRoute[];
  readonly #defaultRoute?: HttpRouteSpec;

  constructor(routes: readonly HttpRouteSpec[]) {
    const parsed = routes.map(parseRouteKey);
    this.#routes = parsed.filter((r) => r.method !== undefined);
    this.#defaultRoute = parsed.find((r) => r.method === undefined)?.route;
  }

  /**
   * The route for a request. `segments` are the decoded path's segments
   * (`/jobs/a` is `['jobs', 'a']`, `/` is `[]`).
   */
  match(method: string, segments: readonly string[]): RouteMatch | undefined {
    let best: { parsed: ParsedRoute; params: Record<string, string> } | undefined;
    for (const parsed of this.#routes) {
      if (parsed.method !== method && parsed.method !== 'ANY') continue;
      const params = matchSegments(parsed.segments, segments);
      if (params === undefined) continue;
      if (best === undefined || compareSpecificity(parsed, best.parsed) < 0) {
        best = { parsed, params };
      }
    }
    if (best) return { route: best.parsed.route, pathParameters: best.params };
    if (this.#defaultRoute) return { route: this.#defaultRoute, pathParameters: {} };
    return undefined;
  }
}

function matchSegments(
  pattern: readonly Segment[],
  segments: readonly string[],
): Record<string, string> | undefined {
  // No prototype: a variable named `__proto__` is a name like any other.
  const params: Record<string, string> = Object.create(null);
  for (let i = 0; i < pattern.length; i++) {
    const want = pattern[i] as Segment;
    if (want.kind === 'greedy') {
      const rest = segments.slice(i).join('/');
      if (rest === '') return undefined;
      params[want.name] = rest;
      return params;
    }
    const got = segments[i];
    if (got === undefined) return undefined;
    if (want.kind === 'literal') {
      if (got !== want.text) return undefined;
    } else {
      if (got === '') return undefined;
      params[want.name] = got;
    }
  }
  return pattern.length === segments.length ? params : undefined;
}

/** Negative when `a` is more specific than `b`. */
function compareSpecificity(a: ParsedRoute, b: ParsedRoute): number {
  const length = Math.max(a.segments.length, b.segments.length);
  for (let i = 0; i < length; i++) {
    const sa = a.segments[i];
    const sb = b.segments[i];
    // Only a greedy route can be shorter than another that matches the same path.
    if (sa === undefined) return 1;
    if (sb === undefined) return -1;
    const diff = SEGMENT_RANK[sa.kind] - SEGMENT_RANK[sb.kind];
    if (diff !== 0) return diff;
  }
  if (a.method === b.method) return 0;
  return a.method === 'ANY' ? 1 : -1;
}
