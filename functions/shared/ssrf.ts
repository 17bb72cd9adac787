/**
 * The SSRF guard for caller-provided callback URLs. A webhook is a request the
 * service makes on a caller's behalf, so the caller must not be able to aim it
 * at the service's own network: loopback, private ranges, link-local (the
 * instance metadata endpoint among them) and the like.
 *
 * Two stages: `checkCallbackUrl` is syntactic and runs when a URL is accepted
 * (an IP-literal host is vetted right away); `resolveSafeAddress` resolves a
 * host name and vets every address it has, and runs before every delivery
 * attempt. The caller then connects to the vetted address only, so a DNS
 * answer that changes between the check and the connection (DNS rebinding)
 * cannot redirect the request.
 *
 * Failures are values with a short sentence in `reason`: they go back to API
 * callers as 400 messages.
 */
import { promises as dnsPromises } from 'node:dns';
import { isIPv4, isIPv6 } from 'node:net';

/** The longest callback URL accepted, in characters. */
export const MAX_CALLBACK_URL_LENGTH = 2048;

/** Options shared by the guard's checks. */
export interface SsrfOptions {
  /**
   * Allows `http:` to `localhost`, `127.0.0.1` and `[::1]`, and loopback
   * addresses in general: for the local cloud, where receivers run on the same
   * machine. Never set it in AWS.
   * @default false
   */
  readonly allowHttpLocalhost?: boolean;
}

/** The outcome of `checkCallbackUrl`. */
export type CallbackUrlCheck =
  | { readonly ok: true; readonly url: URL }
  | { readonly ok: false; readonly reason: string };

/** One address of a DNS answer, as `dns.lookup` with `all: true` gives it. */
export interface LookupAddress {
  readonly address: string;
  readonly family: number;
}

/** Resolves a host name to all its addresses; `dns.promises.lookup` fits. */
export type LookupAll = (
  hostname: string,
  options: { all: true },
) => Promise<readonly LookupAddress[]>;

/** Options of `resolveSafeAddress`. */
export interface ResolveOptions extends SsrfOptions {
  /** @default - `dns.promises.lookup` (the system resolver, as Node's own requests use) */
  readonly lookup?: LookupAll;
  /**
   * The deadline of the lookup: when it aborts first, the lookup is abandoned
   * and the outcome is a failure with `timedOut` set. The callback host is the
   * caller's choice, and so is how slowly its name servers answer.
   * @default - no deadline
   */
  readonly signal?: AbortSignal;
}

/**
 * The outcome of `resolveSafeAddress`. `blocked` tells a refusal (an address
 * in a blocked range: final) from a failed lookup (which may be transient);
 * `timedOut`, a lookup abandoned at the deadline.
 */
export type SafeAddress =
  | { readonly ok: true; readonly address: string; readonly family: 4 | 6 }
  | {
      readonly ok: false;
      readonly reason: string;
      readonly blocked: boolean;
      readonly timedOut?: boolean;
    };

const LOCALHOST_NAMES = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * Checks a callback URL's form: a string of at most 2048 characters, an
 * absolute `https:` URL (or `http:` to `localhost`, `127.0.0.1` or `[::1]`
 * when `allowHttpLocalhost` is set), no user name or password, a host, and no
 * fragment. A fragment is rejected rather than stripped: it never travels in
 * a request, so one is almost certainly a mistake, and rejecting it keeps the
 * URL that is called exactly the URL the caller gave. An IP-literal host, in
 * any form the URL parser normalises (`2130706433`, `0x7f.1`, `[::ffff:7f00:1]`),
 * is checked against the blocked ranges here; a host name is checked when it
 * is resolved, by `resolveSafeAddress`.
 */
export function checkCallbackUrl(raw: unknown, options: SsrfOptions = {}): CallbackUrlCheck {
  if (typeof raw !== 'string') return refuse('The callback URL must be a string.');
  if (raw.length === 0) return refuse('The callback URL must not be empty.');
  if (raw.length > MAX_CALLBACK_URL_LENGTH) {
    return refuse(`The callback URL must be at most ${MAX_CALLBACK_URL_LENGTH} characters long.`);
  }
  if (hasSpaceOrControl(raw)) {
    return refuse('The callback URL must not contain spaces or control characters.');
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return refuse('The callback URL is not a valid absolute URL.');
  }
  if (url.username !== '' || url.password !== '') {
    return refuse('The callback URL must not contain a user name or password.');
  }
  if (raw.includes('#')) return refuse('The callback URL must not contain a fragment (#).');

  const allowLocal = options.allowHttpLocalhost === true;
  if (url.protocol === 'http:') {
    if (!allowLocal || !LOCALHOST_NAMES.has(url.hostname)) {
      return refuse('The callback URL must use https.');
    }
  } else if (url.protocol !== 'https:') {
    return refuse('The callback URL must use https.');
  }
  if (url.hostname === '') return refuse('The callback URL must have a host.');

  const host = unbracket(url.hostname);
  if (isIPv4(host) || isIPv6(host)) {
    const range = blockedRangeOf(host, options);
    if (range !== undefined) {
      return refuse(`The callback URL's address ${host} is in a blocked range (${range}).`);
    }
  } else if (!allowLocal && isLocalhostName(host)) {
    return refuse('The callback URL must not point at localhost.');
  }
  return { ok: true, url };
}

/**
 * Whether an IP address may not be called back: loopback, private, shared,
 * link-local, multicast, reserved, the cloud metadata endpoints, tunnel relays
 * (6to4 anycast, Teredo), and IPv6 addresses that embed such an IPv4 address
 * (mapped, NAT64, 6to4). Anything
 * that does not parse as an IP address counts as blocked. Loopback is allowed
 * only with `allowHttpLocalhost`.
 */
export function isBlockedAddress(ip: string, options: SsrfOptions = {}): boolean {
  return blockedRangeOf(ip, options) !== undefined;
}

/**
 * The blocked range an address falls in, as CIDR text (`127.0.0.0/8`), or
 * undefined when it may be called. See `isBlockedAddress`.
 */
export function blockedRangeOf(ip: string, options: SsrfOptions = {}): string | undefined {
  const text = unbracket(ip);
  const v4 = parseIPv4(text);
  if (v4 !== undefined) return blockedV4(v4, options);
  const v6 = parseIPv6(text);
  if (v6 !== undefined) return blockedV6(v6, options);
  return 'not an IP address';
}

/**
 * Resolves a host name to all its addresses and vets every one: if any is
 * blocked the host is refused (a name with one public and one private address
 * could be connected to either), naming the address. Returns the first
 * address, which the caller must then connect to and nowhere else.
 */
export async function resolveSafeAddress(
  hostname: string,
  options: ResolveOptions = {},
): Promise<SafeAddress> {
  const host = unbracket(hostname);
  const lookup: LookupAll = options.lookup ?? dnsPromises.lookup;
  let addresses: readonly LookupAddress[];
  try {
    addresses = await withDeadline(lookup(host, { all: true }), options.signal);
  } catch (error) {
    if (error === DEADLINE_PASSED) {
      return {
        ok: false,
        blocked: false,
        timedOut: true,
        reason: `The callback host ${host} did not resolve in time.`,
      };
    }
    const code = (error as NodeJS.ErrnoException | undefined)?.code;
    return {
      ok: false,
      blocked: false,
      reason: `The callback host ${host} could not be resolved${code ? ` (${code})` : ''}.`,
    };
  }
  if (addresses.length === 0) {
    return { ok: false, blocked: false, reason: `The callback host ${host} has no addresses.` };
  }
  for (const { address } of addresses) {
    const range = blockedRangeOf(address, options);
    if (range !== undefined) {
      return {
        ok: false,
        blocked: true,
        reason: `The callback host ${host} resolves to ${address}, which is in a blocked range (${range}).`,
      };
    }
  }
  const first = addresses[0] as LookupAddress;
  return { ok: true, address: first.address, family: isIPv4(first.address) ? 4 : 6 };
}

// ------------------------------------------------------------ helpers

/** What `withDeadline` rejects with: told apart from the lookup's own errors by identity. */
const DEADLINE_PASSED = Symbol('deadline passed');

/**
 * The promise's outcome, or a rejection with `DEADLINE_PASSED` once the signal
 * aborts. `dns.lookup` cannot be cancelled: an abandoned one runs on in the
 * thread pool, but nobody waits for it.
 */
function withDeadline<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  if (signal.aborted) {
    promise.catch(() => undefined);
    return Promise.reject(DEADLINE_PASSED);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(DEADLINE_PASSED);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

function refuse(reason: string): { ok: false; reason: string } {
  return { ok: false, reason };
}

function hasSpaceOrControl(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code <= 0x20 || code === 0x7f) return true;
  }
  return false;
}

/** `localhost` and its subdomains (RFC 6761), with or without the trailing root dot. */
function isLocalhostName(host: string): boolean {
  const name = host.endsWith('.') ? host.slice(0, -1) : host;
  return name === 'localhost' || name.endsWith('.localhost');
}

function unbracket(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/** An IPv4 range: network as a 32-bit number, prefix length, and its CIDR text. */
interface V4Range {
  readonly base: number;
  readonly bits: number;
  readonly text: string;
}

/** A range from its CIDR text; the tables below are constants, so the text is not validated. */
function v4Range(cidr: string): V4Range {
  const [address = '', bits = ''] = cidr.split('/');
  return { base: ipv4Number(address), bits: Number(bits), text: cidr };
}

const LOOPBACK_V4 = v4Range('127.0.0.0/8');

const BLOCKED_V4: readonly V4Range[] = [
  '0.0.0.0/8', // "this network"
  '10.0.0.0/8', // private
  '100.64.0.0/10', // carrier-grade NAT (shared address space)
  '169.254.0.0/16', // link-local, incl. 169.254.169.254 (instance metadata)
  '172.16.0.0/12', // private
  '192.0.0.0/24', // IETF protocol assignments
  '192.0.2.0/24', // documentation (TEST-NET-1)
  '192.88.99.0/24', // 6to4 relay anycast (deprecated): a relay forwards into another network
  '192.168.0.0/16', // private
  '198.18.0.0/15', // benchmarking
  '198.51.100.0/24', // documentation (TEST-NET-2)
  '203.0.113.0/24', // documentation (TEST-NET-3)
  '224.0.0.0/4', // multicast
  '255.255.255.255/32', // broadcast (named before the range that holds it)
  '240.0.0.0/4', // reserved
].map(v4Range);

function inV4Range(ip: number, range: V4Range): boolean {
  if (range.bits === 0) return true;
  const shift = 32 - range.bits;
  return ip >>> shift === range.base >>> shift;
}

function blockedV4(ip: number, options: SsrfOptions): string | undefined {
  if (inV4Range(ip, LOOPBACK_V4)) {
    return options.allowHttpLocalhost === true ? undefined : LOOPBACK_V4.text;
  }
  return BLOCKED_V4.find((range) => inV4Range(ip, range))?.text;
}

/** Strict dotted-decimal IPv4 (what `dns.lookup` returns and URL hosts normalise to). */
function parseIPv4(text: string): number | undefined {
  return isIPv4(text) ? ipv4Number(text) : undefined;
}

/** Dotted-decimal IPv4 text, known to be valid, as a number. */
function ipv4Number(text: string): number {
  return text.split('.').reduce((acc, part) => acc * 256 + Number(part), 0);
}

/** An IPv6 range: network as eight 16-bit groups, prefix length, and its CIDR text. */
interface V6Range {
  readonly base: readonly number[];
  readonly bits: number;
  readonly text: string;
  /** Where in the address an embedded IPv4 address starts (in bits), for ranges that carry one. */
  readonly embeddedV4At?: number;
}

/**
 * A range from its CIDR text. The tables below are constants, so the text is
 * not validated: `net.isIPv6` compiles a large regular expression on its first
 * call, a few milliseconds of every cold start that no check may ever need.
 */
function v6Range(cidr: string, embeddedV4At?: number): V6Range {
  const [address = '', bits = ''] = cidr.split('/');
  return { base: ipv6Groups(address) ?? [], bits: Number(bits), text: cidr, embeddedV4At };
}

const LOOPBACK_V6 = v6Range('::1/128');

/** Ranges whose addresses embed an IPv4 address: judged by that address. */
const EMBEDDING_V6: readonly V6Range[] = [
  v6Range('::ffff:0:0/96', 96), // IPv4-mapped
  v6Range('64:ff9b::/96', 96), // NAT64, well-known prefix
  v6Range('2002::/16', 16), // 6to4
];

const BLOCKED_V6: readonly V6Range[] = [
  v6Range('::/128'), // unspecified
  v6Range('::/96'), // IPv4-compatible (deprecated)
  v6Range('64:ff9b:1::/48'), // NAT64, local use
  v6Range('100::/64'), // discard-only
  v6Range('2001::/32'), // Teredo: tunnels to an IPv4 host whose address is hidden (XOR-ed) inside
  v6Range('2001:db8::/32'), // documentation
  v6Range('fd00:ec2::254/128'), // AWS instance metadata (IPv6); also inside fc00::/7
  v6Range('fc00::/7'), // unique local
  v6Range('fe80::/10'), // link-local
  v6Range('ff00::/8'), // multicast
];

function inV6Range(groups: readonly number[], range: V6Range): boolean {
  let remaining = range.bits;
  for (let i = 0; i < 8 && remaining > 0; i++) {
    const take = Math.min(16, remaining);
    const mask = (0xffff << (16 - take)) & 0xffff;
    if (((groups[i] ?? 0) & mask) !== ((range.base[i] ?? 0) & mask)) return false;
    remaining -= take;
  }
  return true;
}

function blockedV6(groups: readonly number[], options: SsrfOptions): string | undefined {
  if (inV6Range(groups, LOOPBACK_V6)) {
    return options.allowHttpLocalhost === true ? undefined : LOOPBACK_V6.text;
  }
  for (const range of EMBEDDING_V6) {
    if (inV6Range(groups, range)) {
      const at = (range.embeddedV4At ?? 96) / 16;
      const v4 = (groups[at] ?? 0) * 0x10000 + (groups[at + 1] ?? 0);
      const inner = blockedV4(v4, options);
      return inner === undefined ? undefined : `${range.text} embedding ${inner}`;
    }
  }
  return BLOCKED_V6.find((range) => inV6Range(groups, range))?.text;
}

/**
 * Parses IPv6 text (with `::`, a trailing dotted IPv4 part, and a `%zone`,
 * which is dropped) into eight 16-bit groups.
 */
function parseIPv6(text: string): number[] | undefined {
  const address = text.split('%', 1)[0] ?? '';
  return isIPv6(address) ? ipv6Groups(address) : undefined;
}

/** IPv6 text without a zone, known to be valid, as eight 16-bit groups. */
function ipv6Groups(address: string): number[] | undefined {
  let tail = address;
  const v4Tail: number[] = [];
  const lastColon = tail.lastIndexOf(':');
  const last = tail.slice(lastColon + 1);
  if (last.includes('.')) {
    const v4 = parseIPv4(last);
    if (v4 === undefined) return undefined;
    v4Tail.push(v4 >>> 16, v4 & 0xffff);
    tail = `${tail.slice(0, lastColon + 1)}0:0`;
  }
  const [head = '', rest] = tail.split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const restGroups = rest === undefined || rest === '' ? [] : rest.split(':');
  const fill = rest === undefined ? 0 : 8 - headGroups.length - restGroups.length;
  const groups = [...headGroups, ...Array.from({ length: fill }, () => '0'), ...restGroups].map(
    (group) => Number.parseInt(group, 16),
  );
  if (groups.length !== 8 || groups.some((g) => Number.isNaN(g))) return undefined;
  if (v4Tail.length === 2) groups.splice(6, 2, ...v4Tail);
  return groups;
}
