import { describe, expect, it } from 'vitest';
import {
  blockedRangeOf,
  checkCallbackUrl,
  isBlockedAddress,
  type LookupAll,
  resolveSafeAddress,
} from '../../../../functions/shared/ssrf';

/** [description, raw URL, expected: 'ok' or a fragment of the reason] */
type UrlCase = readonly [string, unknown, string];

const BLOCKED = 'blocked range';

const URL_CASES: readonly UrlCase[] = [
  // accepted
  ['a public https host', 'https://hooks.example.com/eventjobs?x=1', 'ok'],
  ['a public https host with a port', 'https://hooks.example.com:8443/cb', 'ok'],
  ['a public IPv4 literal', 'https://93.184.216.34/cb', 'ok'],
  ['a public IPv6 literal', 'https://[2606:4700:4700::1111]/cb', 'ok'],
  ['a mapped public IPv4', 'https://[::ffff:8.8.8.8]/', 'ok'],
  ['a NAT64 public IPv4', 'https://[64:ff9b::808:808]/', 'ok'],
  // form
  ['a number', 42, 'must be a string'],
  ['null', null, 'must be a string'],
  ['an object', { href: 'https://example.com' }, 'must be a string'],
  ['an empty string', '', 'must not be empty'],
  ['an overlong URL', `https://example.com/${'a'.repeat(2048)}`, 'at most 2048'],
  ['a relative URL', '/jobs/cb', 'not a valid absolute URL'],
  ['garbage', 'not a url', 'spaces or control'],
  ['a newline inside', 'https://exa\nmple.com/', 'spaces or control'],
  ['a user name', 'https://user@example.com/', 'user name or password'],
  ['a user name and password', 'https://user:pw@example.com/', 'user name or password'],
  ['a fragment', 'https://example.com/cb#frag', 'fragment'],
  ['an empty fragment', 'https://example.com/cb#', 'fragment'],
  ['ftp:', 'ftp://example.com/file', 'must use https'],
  ['file:', 'file:///etc/passwd', 'must use https'],
  ['gopher:', 'gopher://example.com:70/', 'must use https'],
  ['javascript:', 'javascript:alert(1)', 'must use https'],
  ['http: to a public host', 'http://example.com/cb', 'must use https'],
  ['http: to localhost without allowHttpLocalhost', 'http://localhost:3000/cb', 'must use https'],
  ['https: to localhost', 'https://localhost/cb', 'localhost'],
  ['https: to a .localhost name', 'https://api.localhost./cb', 'localhost'],
  // IPv4 ranges
  ['0.0.0.0/8', 'https://0.0.0.0/', '0.0.0.0/8'],
  ['10/8', 'https://10.1.2.3/', '10.0.0.0/8'],
  ['100.64/10', 'https://100.100.100.200/', '100.64.0.0/10'],
  ['127/8', 'https://127.0.0.1/', '127.0.0.0/8'],
  ['127/8, not .1', 'https://127.53.0.9/', '127.0.0.0/8'],
  ['169.254/16 metadata', 'https://169.254.169.254/latest/meta-data/', '169.254.0.0/16'],
  ['ECS task metadata', 'https://169.254.170.2/v2/credentials', '169.254.0.0/16'],
  ['172.16/12 low', 'https://172.16.0.1/', '172.16.0.0/12'],
  ['172.16/12 high', 'https://172.31.255.254/', '172.16.0.0/12'],
  ['192.0.0/24', 'https://192.0.0.170/', '192.0.0.0/24'],
  ['192.88.99/24 6to4 relay anycast', 'https://192.88.99.1/', '192.88.99.0/24'],
  ['192.88.99/24, last address', 'https://192.88.99.255/', '192.88.99.0/24'],
  ['just below 192.88.99/24', 'https://192.88.98.255/', 'ok'],
  ['just above 192.88.99/24', 'https://192.88.100.1/', 'ok'],
  ['192.168/16', 'https://192.168.1.1/', '192.168.0.0/16'],
  ['198.18/15', 'https://198.19.0.1/', '198.18.0.0/15'],
  ['224/4 multicast', 'https://224.0.0.251/', '224.0.0.0/4'],
  ['240/4 reserved', 'https://240.0.0.1/', '240.0.0.0/4'],
  ['broadcast', 'https://255.255.255.255/', '255.255.255.255/32'],
  // IPv4 in other notations, normalised by the URL parser
  ['decimal loopback', 'https://2130706433/', '127.0.0.0/8'],
  ['decimal metadata', 'https://2852039166/', '169.254.0.0/16'],
  ['hex loopback', 'https://0x7f000001/', '127.0.0.0/8'],
  ['short hex loopback', 'https://0x7f.1/', '127.0.0.0/8'],
  ['octal loopback', 'https://0177.0.0.1/', '127.0.0.0/8'],
  ['octal private', 'https://012.0.0.1/', '10.0.0.0/8'],
  ['two-part loopback', 'https://127.1/', '127.0.0.0/8'],
  ['decimal loopback over http', 'http://2130706433/', 'must use https'],
  // IPv6
  ['unspecified', 'https://[::]/', '::/128'],
  ['loopback', 'https://[::1]/', '::1/128'],
  ['long-form loopback', 'https://[0:0:0:0:0:0:0:1]/', '::1/128'],
  ['unique local', 'https://[fd12:3456::1]/', 'fc00::/7'],
  ['unique local fc', 'https://[fc00::1]/', 'fc00::/7'],
  ['link-local', 'https://[fe80::1]/', 'fe80::/10'],
  ['multicast', 'https://[ff02::1]/', 'ff00::/8'],
  ['AWS metadata v6', 'https://[fd00:ec2::254]/', 'fd00:ec2::254'],
  ['mapped loopback', 'https://[::ffff:127.0.0.1]/', '127.0.0.0/8'],
  ['mapped loopback, hex', 'https://[::ffff:7f00:1]/', '127.0.0.0/8'],
  ['mapped metadata', 'https://[::ffff:169.254.169.254]/', '169.254.0.0/16'],
  ['mapped private', 'https://[::ffff:10.0.0.1]/', '10.0.0.0/8'],
  ['NAT64 private', 'https://[64:ff9b::10.0.0.1]/', '64:ff9b::/96 embedding 10.0.0.0/8'],
  ['NAT64 loopback', 'https://[64:ff9b::7f00:1]/', '127.0.0.0/8'],
  ['IPv4-compatible loopback', 'https://[::127.0.0.1]/', '::/96'],
  ['6to4 of a private address', 'https://[2002:c0a8:101::1]/', '192.168.0.0/16'],
  ['documentation prefix', 'https://[2001:db8::1]/', '2001:db8::/32'],
  ['Teredo', 'https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/', '2001::/32'],
  ['Teredo, shortest form', 'https://[2001::1]/', '2001::/32'],
  ['6to4 of the 6to4 relay anycast', 'https://[2002:c058:6301::1]/', '192.88.99.0/24'],
  ['a public 2001:: address outside Teredo', 'https://[2001:4860:4860::8888]/', 'ok'],
  ['just above Teredo', 'https://[2001:1::1]/', 'ok'],
];

describe('checkCallbackUrl', () => {
  it.each(URL_CASES)('%s', (_name, raw, expected) => {
    // Act
    const result = checkCallbackUrl(raw);

    // Assess
    if (expected === 'ok') {
      expect(result).toMatchObject({ ok: true });
    } else {
      expect(result.ok).toBe(false);
      expect(result.ok ? '' : result.reason).toContain(expected);
    }
  });

  it('has a table of at least 40 cases, blocked ranges reported as such', () => {
    // Assess
    expect(URL_CASES.length).toBeGreaterThanOrEqual(40);
    const ipCase = checkCallbackUrl('https://10.0.0.1/');
    expect(ipCase.ok ? '' : ipCase.reason).toContain(BLOCKED);
  });

  it('returns the parsed URL, normalised', () => {
    // Act
    const result = checkCallbackUrl('https://Hooks.Example.COM:443/a/../cb?q=1');

    // Assess
    expect(result.ok && result.url.href).toBe('https://hooks.example.com/cb?q=1');
  });

  it.each([
    'http://localhost:3000/cb',
    'http://127.0.0.1:3000/cb',
    'http://[::1]:3000/cb',
    'https://127.0.0.1/cb',
    'https://[::ffff:127.0.0.1]/cb',
  ])('allows %s with allowHttpLocalhost', (raw) => {
    // Act & Assess
    expect(checkCallbackUrl(raw, { allowHttpLocalhost: true })).toMatchObject({ ok: true });
  });

  it.each([
    ['http://127.0.0.2/cb', 'must use https'],
    ['http://example.com/cb', 'must use https'],
    ['http://10.0.0.1/cb', 'must use https'],
    ['https://169.254.169.254/', '169.254.0.0/16'],
    ['https://192.168.0.1/', '192.168.0.0/16'],
  ])('still refuses %s with allowHttpLocalhost', (raw, reason) => {
    // Act
    const result = checkCallbackUrl(raw, { allowHttpLocalhost: true });

    // Assess
    expect(result.ok ? '' : result.reason).toContain(reason);
  });
});

describe('isBlockedAddress', () => {
  it.each([
    ['0.1.2.3', true],
    ['9.255.255.255', false],
    ['10.0.0.0', true],
    ['11.0.0.0', false],
    ['100.63.255.255', false],
    ['100.64.0.0', true],
    ['100.127.255.255', true],
    ['100.128.0.0', false],
    ['169.253.255.255', false],
    ['169.254.0.1', true],
    ['172.15.255.255', false],
    ['172.32.0.0', false],
    ['192.0.1.1', false],
    ['192.169.0.1', false],
    ['198.17.255.255', false],
    ['198.20.0.0', false],
    ['223.255.255.255', false],
    ['224.0.0.0', true],
    ['8.8.8.8', false],
    ['::', true],
    ['::1', true],
    ['fbff::1', false],
    ['fc00::', true],
    ['fdff:ffff::1', true],
    ['fe80::1%eth0', true],
    ['febf::1', true],
    ['fec0::1', false],
    ['ff00::', true],
    ['::ffff:8.8.8.8', false],
    ['::ffff:192.168.0.1', true],
    ['2606:4700::1111', false],
    ['not-an-ip', true],
    ['', true],
  ])('%s → %s', (ip, blocked) => {
    // Act & Assess
    expect(isBlockedAddress(ip)).toBe(blocked);
  });

  it('allows loopback only with allowHttpLocalhost, and nothing else with it', () => {
    // Assess
    for (const ip of ['127.0.0.1', '127.255.0.1', '::1', '::ffff:127.0.0.1']) {
      expect(isBlockedAddress(ip)).toBe(true);
      expect(isBlockedAddress(ip, { allowHttpLocalhost: true })).toBe(false);
    }
    for (const ip of ['10.0.0.1', '169.254.169.254', 'fd00:ec2::254', '0.0.0.0']) {
      expect(isBlockedAddress(ip, { allowHttpLocalhost: true })).toBe(true);
    }
  });

  it('names the range an address is in', () => {
    // Assess
    expect(blockedRangeOf('169.254.169.254')).toBe('169.254.0.0/16');
    expect(blockedRangeOf('fd00:ec2::254')).toBe('fd00:ec2::254/128');
    expect(blockedRangeOf('[::1]')).toBe('::1/128');
    expect(blockedRangeOf('1.1.1.1')).toBeUndefined();
  });
});

/** A lookup that answers from a table and records what it was asked. */
function fakeLookup(answers: Record<string, readonly string[]>): LookupAll & { calls: string[] } {
  const calls: string[] = [];
  const lookup = async (hostname: string) => {
    calls.push(hostname);
    const addresses = answers[hostname];
    if (addresses === undefined) {
      throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
    }
    return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
  return Object.assign(lookup, { calls });
}

describe('resolveSafeAddress', () => {
  it('returns the first address when every address is public, asking for all of them', async () => {
    // Prepare
    const calls: unknown[] = [];
    const lookup: LookupAll = async (hostname, options) => {
      calls.push([hostname, options]);
      return [
        { address: '93.184.216.34', family: 4 },
        { address: '2606:2800:220:1::1', family: 6 },
      ];
    };

    // Act
    const result = await resolveSafeAddress('hooks.example.com', { lookup });

    // Assess
    expect(result).toEqual({ ok: true, address: '93.184.216.34', family: 4 });
    expect(calls).toEqual([['hooks.example.com', { all: true }]]);
  });

  it('refuses a host when ANY of its addresses is blocked, naming it', async () => {
    // Prepare
    const lookup = fakeLookup({ 'mixed.example.com': ['93.184.216.34', '10.0.0.7'] });

    // Act
    const result = await resolveSafeAddress('mixed.example.com', { lookup });

    // Assess
    expect(result).toEqual({
      ok: false,
      blocked: true,
      reason: expect.stringContaining('10.0.0.7'),
    });
  });

  it('refuses a name that resolves to the metadata endpoint', async () => {
    // Prepare
    const lookup = fakeLookup({ 'evil.example.com': ['169.254.169.254'] });

    // Act
    const result = await resolveSafeAddress('evil.example.com', { lookup });

    // Assess
    expect(result.ok ? '' : result.reason).toBe(
      'The callback host evil.example.com resolves to 169.254.169.254, which is in a blocked range (169.254.0.0/16).',
    );
  });

  it('reports a failed lookup as not blocked (it may be transient)', async () => {
    // Prepare
    const lookup = fakeLookup({});

    // Act
    const result = await resolveSafeAddress('nowhere.example.com', { lookup });

    // Assess
    expect(result).toEqual({
      ok: false,
      blocked: false,
      reason: 'The callback host nowhere.example.com could not be resolved (ENOTFOUND).',
    });
  });

  it('refuses an empty answer', async () => {
    // Act
    const result = await resolveSafeAddress('empty.example.com', { lookup: async () => [] });

    // Assess
    expect(result).toMatchObject({ ok: false, blocked: false });
  });

  it('allows loopback only with allowHttpLocalhost, and unbrackets IPv6 hosts', async () => {
    // Prepare
    const lookup = fakeLookup({ localhost: ['127.0.0.1', '::1'], '::1': ['::1'] });

    // Act
    const refused = await resolveSafeAddress('localhost', { lookup });
    const allowed = await resolveSafeAddress('localhost', { lookup, allowHttpLocalhost: true });
    const v6 = await resolveSafeAddress('[::1]', { lookup, allowHttpLocalhost: true });

    // Assess
    expect(refused).toMatchObject({ ok: false, blocked: true });
    expect(allowed).toEqual({ ok: true, address: '127.0.0.1', family: 4 });
    expect(v6).toEqual({ ok: true, address: '::1', family: 6 });
    expect(lookup.calls).toEqual(['localhost', 'localhost', '::1']);
  });

  it('refuses a name that resolves to a Teredo or 6to4 relay address', async () => {
    // Prepare
    const lookup = fakeLookup({
      'teredo.example.com': ['2001:0:4136:e378:8000:63bf:3fff:fdd2'],
      'relay.example.com': ['192.88.99.1'],
    });

    // Act
    const teredo = await resolveSafeAddress('teredo.example.com', { lookup });
    const relay = await resolveSafeAddress('relay.example.com', { lookup });

    // Assess
    expect(teredo).toMatchObject({ ok: false, blocked: true });
    expect(teredo.ok ? '' : teredo.reason).toContain('2001::/32');
    expect(relay).toMatchObject({ ok: false, blocked: true });
    expect(relay.ok ? '' : relay.reason).toContain('192.88.99.0/24');
  });

  it('abandons a lookup that outlives its deadline, as a timeout that is not a refusal', async () => {
    // Prepare: a name server that never answers.
    let asked = 0;
    const lookup: LookupAll = () => {
      asked++;
      return new Promise(() => undefined);
    };
    const deadline = new AbortController();

    // Act
    const pending = resolveSafeAddress('slow.example.com', { lookup, signal: deadline.signal });
    deadline.abort();
    const result = await pending;

    // Assess
    expect(asked).toBe(1);
    expect(result).toEqual({
      ok: false,
      blocked: false,
      timedOut: true,
      reason: 'The callback host slow.example.com did not resolve in time.',
    });
  });

  it('gives up at once when the deadline has already passed, ignoring a late failure', async () => {
    // Prepare
    let fail: (error: Error) => void = () => undefined;
    const lookup: LookupAll = () =>
      new Promise((_resolve, reject) => {
        fail = reject;
      });

    // Act
    const result = await resolveSafeAddress('late.example.com', {
      lookup,
      signal: AbortSignal.abort(),
    });
    fail(Object.assign(new Error('late'), { code: 'ENOTFOUND' }));

    // Assess
    expect(result).toMatchObject({ ok: false, blocked: false, timedOut: true });
  });

  it('answers as usual when the lookup beats its deadline', async () => {
    // Prepare
    const lookup = fakeLookup({ 'hooks.example.com': ['93.184.216.34'] });
    const deadline = new AbortController();

    // Act
    const result = await resolveSafeAddress('hooks.example.com', {
      lookup,
      signal: deadline.signal,
    });
    deadline.abort();

    // Assess
    expect(result).toEqual({ ok: true, address: '93.184.216.34', family: 4 });
  });

  it('uses the system resolver by default (an IP literal resolves to itself)', async () => {
    // Act
    const result = await resolveSafeAddress('127.0.0.1', { allowHttpLocalhost: true });

    // Assess
    expect(result).toEqual({ ok: true, address: '127.0.0.1', family: 4 });
  });
});
