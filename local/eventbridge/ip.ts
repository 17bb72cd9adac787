/**
 * IP address and CIDR parsing for the EventBridge pattern matcher, reading
 * addresses the way AWS's matcher (Event Ruler) does rather than the way Node's
 * `net` module does:
 *
 * - An address is only considered if it has the *shape* of one: four runs of
 *   decimal digits separated by dots, or hex digits and colons with at least one
 *   colon. Anything else (a hostname, a zone id `fe80::1%eth0`, a dotted
 *   IPv4-mapped IPv6 `::ffff:1.2.3.4`) is "nonstandard" and never an address.
 * - IPv4 octets are read as decimal even with leading zeros (`010.0.0.1` is
 *   10.0.0.1, not octal 8.0.0.1).
 * - A CIDR's base address is floored to the network: `10.0.0.5/24` is the whole
 *   `10.0.0.0/24` block.
 * - The mask must be below the address width: `/32` (IPv4) and `/128` (IPv6)
 *   are refused with AWS's own wording. A single address is written as a plain
 *   string value instead, which AWS also compares as an address.
 */

export type IpVersion = 4 | 6;

export interface IpAddress {
  readonly version: IpVersion;
  /** The address as an unsigned integer (32 or 128 bits). */
  readonly value: bigint;
}

export interface CidrBlock {
  readonly version: IpVersion;
  readonly first: bigint;
  readonly last: bigint;
}

/** Thrown by {@link parseCidr} with AWS's reason text; the caller wraps it. */
export class CidrSyntaxError extends Error {
  override readonly name = 'CidrSyntaxError';
}

const IPV4_SHAPE = /^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$/;
// One class plus a separate colon test rather than AWS's `[0-9a-fA-F:]*:[0-9a-fA-F:]*`,
// which backtracks quadratically on a long colon-only string in a JS regex.
const IPV6_CHARS = /^[0-9a-fA-F:]+$/;
const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;
const MASK_INTEGER = /^[+-]?[0-9]+$/;

function ipShape(text: string): IpVersion | undefined {
  if (IPV4_SHAPE.test(text)) return 4;
  if (text.includes(':') && IPV6_CHARS.test(text)) return 6;
  return undefined;
}

function parseIpv4(text: string): bigint | undefined {
  let value = 0n;
  for (const octet of text.split('.')) {
    // Decimal, leading zeros allowed; a run of digits too long to be an octet is not one.
    const n = octet.length > 10 ? Number.NaN : Number.parseInt(octet, 10);
    if (!(n >= 0 && n <= 255)) return undefined;
    value = (value << 8n) | BigInt(n);
  }
  return value;
}

function parseGroups(part: string): string[] | undefined {
  if (part === '') return [];
  const groups = part.split(':');
  return groups.every((group) => HEX_GROUP.test(group)) ? groups : undefined;
}

function parseIpv6(text: string): bigint | undefined {
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const head = parseGroups(halves[0] ?? '');
  const tail = halves.length === 2 ? parseGroups(halves[1] ?? '') : [];
  if (head === undefined || tail === undefined) return undefined;
  const compressed = halves.length === 2;
  const written = head.length + tail.length;
  if (compressed ? written > 7 : written !== 8) return undefined;
  const groups = [...head, ...Array<string>(8 - written).fill('0'), ...tail];
  let value = 0n;
  for (const group of groups) value = (value << 16n) | BigInt(Number.parseInt(group, 16));
  return value;
}

/**
 * The address `text` denotes, or `undefined` when it is not an address AWS
 * would read (wrong shape, or right shape but not a valid address).
 */
export function parseIp(text: string): IpAddress | undefined {
  const version = ipShape(text);
  if (version === undefined) return undefined;
  const value = version === 4 ? parseIpv4(text) : parseIpv6(text);
  return value === undefined ? undefined : { version, value };
}

/** A key equal for two spellings of the same address (`::1` and `0:0:0:0:0:0:0:1`). */
export function ipKey(address: IpAddress): string {
  return `${address.version}:${address.value.toString(16)}`;
}

/**
 * Parses a `cidr` operand. Throws {@link CidrSyntaxError} with the reason AWS
 * gives, checked in AWS's order: the slash, the mask, then the address.
 */
export function parseCidr(text: string): CidrBlock {
  // Java's String.split drops trailing empty strings, so `10.0.0.0/` has no mask
  // field at all and is reported as a missing slash, like AWS does.
  const parts = text.split('/');
  while (parts.length > 1 && parts[parts.length - 1] === '') parts.pop();
  if (parts.length !== 2) throw new CidrSyntaxError("Malformed CIDR, one '/' required");
  const [addressText = '', maskText = ''] = parts;
  const bits = MASK_INTEGER.test(maskText) ? Number.parseInt(maskText, 10) : Number.NaN;
  if (!Number.isSafeInteger(bits) || bits > 2 ** 31 - 1 || bits < -(2 ** 31)) {
    throw new CidrSyntaxError('Malformed CIDR, mask bits must be an integer');
  }
  if (bits < 0) throw new CidrSyntaxError('Malformed CIDR, mask bits must not be negative');

  if (ipShape(addressText) === undefined) {
    throw new CidrSyntaxError(`Nonstandard IP address: ${addressText}`);
  }
  const address = parseIp(addressText);
  if (address === undefined) throw new CidrSyntaxError(`Invalid IP address: ${addressText}`);

  const width = address.version === 4 ? 32 : 128;
  if (bits >= width) {
    throw new CidrSyntaxError(
      address.version === 4 ? 'IPv4 mask bits must be < 32' : 'IPv6 mask bits must be < 128',
    );
  }
  const hostBits = BigInt(width - bits);
  const hostMask = (1n << hostBits) - 1n;
  const first = address.value & ~hostMask;
  return { version: address.version, first, last: first | hostMask };
}

export function cidrContains(block: CidrBlock, address: IpAddress): boolean {
  return (
    address.version === block.version && address.value >= block.first && address.value <= block.last
  );
}
