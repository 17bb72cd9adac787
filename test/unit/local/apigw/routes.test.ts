import { describe, expect, it } from 'vitest';
import { renderAccessLog } from '../../../../local/apigw/access-log';
import {
  clfTime,
  isTextContentType,
  queryStringParameters,
  splitCookies,
} from '../../../../local/apigw/event';
import { mapLambdaResult } from '../../../../local/apigw/response';
import { parseRouteKey, RouteTable } from '../../../../local/apigw/routes';
import { TokenBucket } from '../../../../local/apigw/throttle';
import type { HttpRouteSpec } from '../../../../local/contracts';

function route(routeKey: string): HttpRouteSpec {
  return { id: routeKey, routeKey, authorizationType: 'NONE' };
}

function segmentsOf(path: string): string[] {
  return path === '/' ? [] : path.slice(1).split('/');
}

describe('RouteTable', () => {
  const table = new RouteTable(
    [
      'GET /jobs',
      'POST /jobs',
      'GET /jobs/{name}',
      'GET /jobs/latest',
      'ANY /jobs/{name}',
      'DELETE /jobs/{name}',
      'GET /jobs/{name}/runs/{run}',
      'ANY /files/{proxy+}',
      'GET /files/{proxy+}',
      'GET /files/special/{id}',
      'GET /',
      'ANY /{proxy+}',
      '$default',
    ].map(route),
  );

  it.each([
    ['GET', '/jobs', 'GET /jobs', {}],
    ['POST', '/jobs', 'POST /jobs', {}],
    ['PUT', '/jobs', 'ANY /{proxy+}', { proxy: 'jobs' }],
    ['GET', '/jobs/latest', 'GET /jobs/latest', {}],
    ['GET', '/jobs/report-1', 'GET /jobs/{name}', { name: 'report-1' }],
    ['DELETE', '/jobs/report-1', 'DELETE /jobs/{name}', { name: 'report-1' }],
    ['PATCH', '/jobs/report-1', 'ANY /jobs/{name}', { name: 'report-1' }],
    ['PATCH', '/jobs/latest', 'ANY /jobs/{name}', { name: 'latest' }],
    ['GET', '/jobs/a b/runs/7', 'GET /jobs/{name}/runs/{run}', { name: 'a b', run: '7' }],
    ['GET', '/files/a/b/c.txt', 'GET /files/{proxy+}', { proxy: 'a/b/c.txt' }],
    ['PUT', '/files/a/b', 'ANY /files/{proxy+}', { proxy: 'a/b' }],
    ['GET', '/files/special/9', 'GET /files/special/{id}', { id: '9' }],
    ['GET', '/files/special/9/x', 'GET /files/{proxy+}', { proxy: 'special/9/x' }],
    ['GET', '/', 'GET /', {}],
    ['POST', '/', '$default', {}],
    ['GET', '/jobs/', 'ANY /{proxy+}', { proxy: 'jobs/' }],
    ['GET', '/other/deep/path', 'ANY /{proxy+}', { proxy: 'other/deep/path' }],
  ])('%s %s goes to %s', (method, path, routeKey, params) => {
    const match = table.match(method, segmentsOf(path));
    expect(match?.route.routeKey).toBe(routeKey);
    expect(match?.pathParameters).toEqual(params);
  });

  it('prefers a literal segment to a variable even when the variable route has the exact method', () => {
    const t = new RouteTable(['GET /pets/{id}', 'ANY /pets/dog'].map(route));
    expect(t.match('GET', ['pets', 'dog'])?.route.routeKey).toBe('ANY /pets/dog');
  });

  it('matches nothing without a $default route', () => {
    const t = new RouteTable(['GET /jobs', 'GET /jobs/{name}', 'GET /files/{proxy+}'].map(route));
    expect(t.match('GET', ['nope'])).toBeUndefined();
    expect(t.match('POST', ['jobs'])).toBeUndefined();
    expect(t.match('GET', ['jobs', ''])).toBeUndefined();
    expect(t.match('GET', ['jobs', 'a', 'b'])).toBeUndefined();
    expect(t.match('GET', ['files'])).toBeUndefined();
    expect(t.match('GET', ['files', ''])).toBeUndefined();
  });

  it('refuses route keys AWS refuses', () => {
    expect(() => parseRouteKey(route('GET /a/{proxy+}/b'))).toThrow(/greedy variable must be last/);
    expect(() => parseRouteKey(route('get /a'))).toThrow(/Invalid route key/);
    expect(() => parseRouteKey(route('GET a'))).toThrow(/Invalid route key/);
  });
});

describe('mapLambdaResult', () => {
  it('uses a structured result as given, cookies as set-cookie headers and base64 bodies decoded', () => {
    const mapped = mapLambdaResult(
      JSON.stringify({
        statusCode: 201,
        headers: {
          'Content-Type': 'text/plain',
          'X-Count': 3,
          'X-Flag': true,
          'Content-Length': '999',
        },
        cookies: ['a=1; Path=/', 'b=2'],
        body: Buffer.from([0, 1, 2, 255]).toString('base64'),
        isBase64Encoded: true,
      }),
    );
    expect(mapped).toEqual({
      ok: true,
      response: {
        status: 201,
        headers: {
          'content-type': 'text/plain',
          'x-count': '3',
          'x-flag': 'true',
          'set-cookie': ['a=1; Path=/', 'b=2'],
        },
        body: Buffer.from([0, 1, 2, 255]),
      },
    });
  });

  it('sends any other JSON value as a 200 application/json body, byte for byte', () => {
    for (const payload of [
      '{"message":"hi"}',
      '"Hello from Lambda!"',
      '42',
      'null',
      '[1,2]',
      '{ "body": "x" }',
    ]) {
      expect(mapLambdaResult(payload)).toEqual({
        ok: true,
        response: {
          status: 200,
          headers: { 'content-type': 'application/json' },
          body: Buffer.from(payload),
        },
      });
    }
  });

  it('rejects a malformed structured result', () => {
    for (const payload of [
      { statusCode: '200' },
      { statusCode: 200.5 },
      { statusCode: 99 },
      { statusCode: 200, body: { not: 'a string' } },
      { statusCode: 200, headers: 'x' },
      { statusCode: 200, headers: { a: { b: 1 } } },
      { statusCode: 200, cookies: 'a=1' },
      { statusCode: 200, isBase64Encoded: 'yes' },
    ]) {
      const mapped = mapLambdaResult(JSON.stringify(payload));
      expect(mapped.ok, JSON.stringify(payload)).toBe(false);
    }
    expect(mapLambdaResult('not json')).toMatchObject({ ok: false });
  });
});

describe('event helpers', () => {
  it('passes text, JSON, XML and JavaScript bodies as text, anything else base64', () => {
    for (const type of [
      'text/plain',
      'text/html; charset=utf-8',
      'application/json',
      'Application/JSON; charset=UTF-8',
      'application/xml',
      'application/javascript',
    ]) {
      expect(isTextContentType(type), type).toBe(true);
    }
    for (const type of [
      undefined,
      'application/octet-stream',
      'image/png',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
    ]) {
      expect(isTextContentType(type), type).toBe(false);
    }
  });

  it('decodes query parameters and joins repeated ones with commas', () => {
    expect(queryStringParameters('a=1&a=2&b=x%20y&c&d=&e=a+b&f=%E2%9C%93&g=%zz')).toEqual({
      a: '1,2',
      b: 'x y',
      c: '',
      d: '',
      e: 'a+b',
      f: '✓',
      g: '%zz',
    });
    expect(queryStringParameters('')).toBeUndefined();
  });

  it('splits cookie headers into cookies', () => {
    expect(splitCookies(['a=1; b=2', 'c=3'])).toEqual(['a=1', 'b=2', 'c=3']);
    expect(splitCookies([])).toEqual([]);
  });

  it('formats times as CLF', () => {
    expect(clfTime(Date.UTC(2026, 10, 28, 9, 5, 7, 123))).toBe('28/Nov/2026:09:05:07 +0000');
  });
});

describe('renderAccessLog', () => {
  it('replaces known variables, and unknown or empty ones with -', () => {
    const line = renderAccessLog(
      '{"id":"$context.requestId","ip":"$context.identity.sourceIp","e":"$context.authorizer.error","x":"$context.no.such","s":$context.status}',
      { requestId: 'abc=', 'identity.sourceIp': '127.0.0.1', 'authorizer.error': '', status: 200 },
    );
    expect(JSON.parse(line)).toEqual({ id: 'abc=', ip: '127.0.0.1', e: '-', x: '-', s: 200 });
  });

  it('escapes values so that a JSON format stays JSON', () => {
    const message = 'field "body"\nand a \\ backslash';
    const line = renderAccessLog('{"error":"$context.integrationErrorMessage"}', {
      integrationErrorMessage: message,
    });
    expect(line).not.toContain('\n');
    expect(JSON.parse(line)).toEqual({ error: message });
  });
});

describe('TokenBucket', () => {
  it('allows a burst, then refills at the rate', () => {
    const bucket = new TokenBucket(2, 3, 0);
    expect([bucket.take(0), bucket.take(0), bucket.take(0), bucket.take(0)]).toEqual([
      true,
      true,
      true,
      false,
    ]);
    expect(bucket.take(499)).toBe(false);
    expect(bucket.take(500)).toBe(true);
    expect(bucket.take(500)).toBe(false);
    expect([
      bucket.take(10_000),
      bucket.take(10_000),
      bucket.take(10_000),
      bucket.take(10_000),
    ]).toEqual([true, true, true, false]);
  });

  it('refuses everything with a burst of zero', () => {
    expect(new TokenBucket(100, 0, 0).take(5_000)).toBe(false);
  });
});
