/**
 * Conformance suite for the local EventBridge pattern matcher.
 *
 * Examples come from the EventBridge user guide and from Event Ruler (the
 * library EventBridge runs), whose README and compiler define the corners the
 * guide leaves out. Cases marked "AWS quirk" pin behaviour that surprises
 * people but is what AWS does; cases marked "choice" pin a decision made where
 * AWS's behaviour could not be confirmed (see local/eventbridge/pattern.ts).
 */
import { describe, expect, it } from 'vitest';
import {
  compilePattern,
  InvalidEventPatternError,
  matchesPattern,
  prepareEvent,
  validatePattern,
} from '../../../../local/eventbridge/pattern';

type MatchCase = readonly [name: string, pattern: unknown, event: unknown, expected: boolean];

/** A realistic custom-event envelope around `detail`. */
function envelope(detail: unknown, overrides: Record<string, unknown> = {}) {
  return {
    version: '0',
    id: '6a7e8feb-b491-4cf7-a9f1-bf3703467718',
    'detail-type': 'EC2 Instance State-change Notification',
    source: 'aws.ec2',
    account: '111122223333',
    time: '2017-12-22T18:43:48Z',
    region: 'us-west-1',
    resources: ['arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0'],
    detail,
    ...overrides,
  };
}

function runMatchCases(cases: readonly MatchCase[]) {
  it.each(cases)('%s', (_name, pattern, event, expected) => {
    // Act
    const matched = matchesPattern(pattern, event);

    // Assess
    expect(matched).toBe(expected);
  });
}

function caught(action: () => unknown): unknown {
  try {
    action();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('exact values', () => {
  runMatchCases([
    ['string equal', { source: ['aws.ec2'] }, envelope({}), true],
    ['string different', { source: ['aws.s3'] }, envelope({}), false],
    ['strings are case-sensitive', { source: ['AWS.EC2'] }, envelope({}), false],
    [
      'any alternative in the list may match',
      { source: ['aws.s3', 'aws.ec2'] },
      envelope({}),
      true,
    ],
    ['no alternative matches', { source: ['aws.s3', 'aws.sqs'] }, envelope({}), false],
    ['number equals number', { detail: { n: [5] } }, envelope({ n: 5 }), true],
    [
      'number pattern does not match numeric string',
      { detail: { n: [5] } },
      envelope({ n: '5' }),
      false,
    ],
    ['string pattern does not match number', { detail: { n: ['5'] } }, envelope({ n: 5 }), false],
    [
      '5 matches 5.0 (decimal comparison)',
      { detail: { n: [5] } },
      JSON.parse('{"detail":{"n":5.0}}'),
      true,
    ],
    ['3.018e2 matches 301.8', { detail: { n: [3.018e2] } }, envelope({ n: 301.8 }), true],
    ['5 does not match 5.000001', { detail: { n: [5] } }, envelope({ n: 5.000001 }), false],
    [
      'number beyond the numeric range still matches exactly',
      { detail: { n: [123456789012] } },
      envelope({ n: 123456789012 }),
      true,
    ],
    ['account id as string', { account: ['111122223333'] }, envelope({}), true],
    [
      'account id as number does not match string account',
      { account: [111122223333] },
      envelope({}),
      false,
    ],
    ['true matches true', { detail: { b: [true] } }, envelope({ b: true }), true],
    ['true does not match "true"', { detail: { b: [true] } }, envelope({ b: 'true' }), false],
    ['"true" does not match true', { detail: { b: ['true'] } }, envelope({ b: true }), false],
    ['false matches false', { detail: { b: [false] } }, envelope({ b: false }), true],
    ['false does not match 0', { detail: { b: [false] } }, envelope({ b: 0 }), false],
    ['null matches JSON null', { detail: { r: [null] } }, envelope({ r: null }), true],
    ['null does not match a missing field', { detail: { r: [null] } }, envelope({}), false],
    ['null does not match empty string', { detail: { r: [null] } }, envelope({ r: '' }), false],
    ['null does not match "null"', { detail: { r: [null] } }, envelope({ r: 'null' }), false],
    ['empty string matches empty string', { detail: { v: [''] } }, envelope({ v: '' }), true],
    ['empty string does not match null', { detail: { v: [''] } }, envelope({ v: null }), false],
    ['empty string does not match a missing field', { detail: { v: [''] } }, envelope({}), false],
    ['empty string does not match a space', { detail: { v: [''] } }, envelope({ v: ' ' }), false],
    [
      'mixed-type alternatives: the number matches',
      { detail: { n: ['5', 5] } },
      envelope({ n: 5 }),
      true,
    ],
    [
      'IP literal compares as an address (AWS quirk)',
      { detail: { ip: ['::1'] } },
      envelope({ ip: '0:0:0:0:0:0:0:1' }),
      true,
    ],
    [
      'IP literal different address',
      { detail: { ip: ['10.0.0.1'] } },
      envelope({ ip: '10.0.0.2' }),
      false,
    ],
  ]);
});

describe('keys and nesting', () => {
  runMatchCases([
    ['keys are case-sensitive', { Source: ['aws.ec2'] }, envelope({}), false],
    [
      'nested field matches',
      { detail: { state: ['running'] } },
      envelope({ state: 'running' }),
      true,
    ],
    [
      'nested field missing',
      { detail: { state: ['running'] } },
      envelope({ other: 'running' }),
      false,
    ],
    ['detail missing entirely', { detail: { state: ['running'] } }, { source: 'x' }, false],
    [
      'leaf matcher against an object value does not match',
      { detail: { state: ['running'] } },
      envelope({ state: { name: 'running' } }),
      false,
    ],
    [
      'nested pattern against a leaf value does not match',
      { detail: { state: { name: ['running'] } } },
      envelope({ state: 'running' }),
      false,
    ],
    [
      'nested pattern when detail is a string',
      { detail: { state: ['running'] } },
      envelope('running'),
      false,
    ],
    [
      'extra event fields are ignored',
      { source: ['aws.ec2'] },
      envelope({ a: 1, b: [1, 2] }),
      true,
    ],
    [
      'all fields must match (AND)',
      { source: ['aws.ec2'], region: ['eu-west-1'] },
      envelope({}),
      false,
    ],
    [
      'all fields match',
      { source: ['aws.ec2'], region: ['us-west-1'], detail: { state: ['x'] } },
      envelope({ state: 'x' }),
      true,
    ],
    [
      'three levels deep',
      { detail: { a: { b: { c: ['d'] } } } },
      envelope({ a: { b: { c: 'd' } } }),
      true,
    ],
    [
      'dotted pattern key equals nested path (AWS quirk)',
      { 'detail.state': ['x'] },
      envelope({ state: 'x' }),
      true,
    ],
    [
      'dotted event key equals nested path (AWS quirk)',
      { detail: { a: { b: ['x'] } } },
      envelope({ 'a.b': 'x' }),
      true,
    ],
    ['empty event', { source: ['aws.ec2'] }, {}, false],
    ['null event', { source: ['aws.ec2'] }, null, false],
    ['array event', { source: ['aws.ec2'] }, [{ source: 'aws.ec2' }], false],
  ]);
});

describe('arrays', () => {
  const employees = {
    employees: [
      { firstName: 'John', lastName: 'Doe' },
      { firstName: 'Anna', lastName: 'Smith' },
      { firstName: 'Peter', lastName: 'Jones' },
    ],
  };
  const orders = {
    orders: [{ items: [{ sku: 'a', qty: 1 }] }, { items: [{ sku: 'b', qty: 2 }] }],
  };
  runMatchCases([
    [
      'event array: any element matches',
      { detail: { tags: ['b'] } },
      envelope({ tags: ['a', 'b'] }),
      true,
    ],
    [
      'event array: no element matches',
      { detail: { tags: ['c'] } },
      envelope({ tags: ['a', 'b'] }),
      false,
    ],
    [
      'empty event array matches no value',
      { detail: { tags: ['a'] } },
      envelope({ tags: [] }),
      false,
    ],
    [
      'nested event arrays are flattened',
      { detail: { tags: ['c'] } },
      envelope({ tags: [['a'], ['b', ['c']]] }),
      true,
    ],
    [
      'docs: intersection of pattern and event resources',
      {
        resources: [
          'arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f',
          'arn:aws:ec2:us-east-1:111122223333:instance/i-b188560f',
        ],
      },
      envelope(
        {},
        {
          resources: [
            'arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:eb56d16b:autoScalingGroupName/ASGTerminate',
            'arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f',
          ],
        },
      ),
      true,
    ],
    ['numbers in an event array', { detail: { n: [2] } }, envelope({ n: [1, 2, 3] }), true],
    [
      'array of objects: a field of any element',
      { detail: { employees: { firstName: ['Anna'] } } },
      envelope(employees),
      true,
    ],
    [
      'array of objects: no element has the value',
      { detail: { employees: { firstName: ['Zoe'] } } },
      envelope(employees),
      false,
    ],
    [
      'array consistency: fields from different elements do not combine',
      { detail: { employees: { firstName: ['Anna'], lastName: ['Jones'] } } },
      envelope(employees),
      false,
    ],
    [
      'array consistency: fields from the same element combine',
      { detail: { employees: { firstName: ['Anna'], lastName: ['Smith'] } } },
      envelope(employees),
      true,
    ],
    [
      'array consistency through nested arrays: different elements',
      { detail: { orders: { items: { sku: ['a'], qty: [2] } } } },
      envelope(orders),
      false,
    ],
    [
      'array consistency through nested arrays: same element',
      { detail: { orders: { items: { sku: ['b'], qty: [2] } } } },
      envelope(orders),
      true,
    ],
    [
      'array of arrays of objects',
      { detail: { employees: { firstName: ['Peter'] } } },
      envelope({ employees: [[{ firstName: 'John' }], [{ firstName: 'Peter' }]] }),
      true,
    ],
    [
      'mixed array: the leaf element',
      { detail: { a: ['x'] } },
      envelope({ a: ['x', { b: 1 }] }),
      true,
    ],
    [
      'mixed array: the object element',
      { detail: { a: { b: [1] } } },
      envelope({ a: ['x', { b: 1 }] }),
      true,
    ],
    [
      'array field AND top-level field',
      { source: ['aws.ec2'], detail: { employees: { lastName: ['Doe'] } } },
      envelope(employees),
      true,
    ],
  ]);
});

describe('prefix', () => {
  runMatchCases([
    ['docs: time prefix', { time: [{ prefix: '2017-12-22' }] }, envelope({}), true],
    ['prefix does not match', { time: [{ prefix: '2017-10-02' }] }, envelope({}), false],
    ['prefix is case-sensitive', { source: [{ prefix: 'AWS.' }] }, envelope({}), false],
    [
      'prefix never matches a number',
      { detail: { n: [{ prefix: '1' }] } },
      envelope({ n: 123 }),
      false,
    ],
    [
      'empty prefix matches any string',
      { detail: { v: [{ prefix: '' }] } },
      envelope({ v: 'x' }),
      true,
    ],
    [
      'empty prefix matches the empty string',
      { detail: { v: [{ prefix: '' }] } },
      envelope({ v: '' }),
      true,
    ],
    [
      'empty prefix does not match null',
      { detail: { v: [{ prefix: '' }] } },
      envelope({ v: null }),
      false,
    ],
    [
      'prefix on an event array element',
      { detail: { v: [{ prefix: 'ab' }] } },
      envelope({ v: ['x', 'abc'] }),
      true,
    ],
    ['prefix on a missing field', { detail: { v: [{ prefix: 'a' }] } }, envelope({}), false],
    [
      'prefix + equals-ignore-case: mixed case',
      { detail: { service: [{ prefix: { 'equals-ignore-case': 'EventB' } }] } },
      envelope({ service: 'eventbridge' }),
      true,
    ],
    [
      'prefix + equals-ignore-case: upper case',
      { detail: { service: [{ prefix: { 'equals-ignore-case': 'eventb' } }] } },
      envelope({ service: 'EVENTBRIDGE' }),
      true,
    ],
    [
      'prefix + equals-ignore-case: not a prefix',
      { detail: { service: [{ prefix: { 'equals-ignore-case': 'eventb' } }] } },
      envelope({ service: 'evntbridge' }),
      false,
    ],
    [
      'prefix + equals-ignore-case: number',
      { detail: { service: [{ prefix: { 'equals-ignore-case': '1' } }] } },
      envelope({ service: 12 }),
      false,
    ],
  ]);
});

describe('suffix', () => {
  runMatchCases([
    [
      'docs: .png suffix',
      { detail: { FileName: [{ suffix: '.png' }] } },
      envelope({ FileName: 'image.png' }),
      true,
    ],
    [
      'suffix does not match',
      { detail: { FileName: [{ suffix: '.png' }] } },
      envelope({ FileName: 'image.jpg' }),
      false,
    ],
    [
      'suffix is case-sensitive',
      { detail: { FileName: [{ suffix: '.png' }] } },
      envelope({ FileName: 'image.PNG' }),
      false,
    ],
    [
      'suffix never matches a number',
      { detail: { n: [{ suffix: '5' }] } },
      envelope({ n: 5 }),
      false,
    ],
    [
      'empty suffix matches any string',
      { detail: { v: [{ suffix: '' }] } },
      envelope({ v: 'abc' }),
      true,
    ],
    [
      'suffix + equals-ignore-case: upper-case value',
      { detail: { FileName: [{ suffix: { 'equals-ignore-case': '.png' } }] } },
      envelope({ FileName: 'IMAGE.PNG' }),
      true,
    ],
    [
      'suffix + equals-ignore-case: other extension',
      { detail: { FileName: [{ suffix: { 'equals-ignore-case': '.png' } }] } },
      envelope({ FileName: 'image.jpg' }),
      false,
    ],
    [
      'suffix + equals-ignore-case: docs tbridge',
      { detail: { service: [{ suffix: { 'equals-ignore-case': 'tbridge' } }] } },
      envelope({ service: 'EventBridge' }),
      true,
    ],
  ]);
});

describe('equals-ignore-case', () => {
  runMatchCases([
    [
      'docs: alice matches Alice',
      { detail: { Name: [{ 'equals-ignore-case': 'alice' }] } },
      envelope({ Name: 'Alice' }),
      true,
    ],
    [
      'upper case value',
      { detail: { Name: [{ 'equals-ignore-case': 'alice' }] } },
      envelope({ Name: 'ALICE' }),
      true,
    ],
    [
      'different word',
      { detail: { Name: [{ 'equals-ignore-case': 'alice' }] } },
      envelope({ Name: 'Alicia' }),
      false,
    ],
    [
      'trailing space is not ignored',
      { detail: { Name: [{ 'equals-ignore-case': 'alice' }] } },
      envelope({ Name: 'alice ' }),
      false,
    ],
    [
      'never matches a number',
      { detail: { n: [{ 'equals-ignore-case': '5' }] } },
      envelope({ n: 5 }),
      false,
    ],
    [
      'non-ASCII letters fold too (choice: Unicode lower-casing)',
      { detail: { city: [{ 'equals-ignore-case': 'ÉCOLE' }] } },
      envelope({ city: 'école' }),
      true,
    ],
  ]);
});

describe('wildcard', () => {
  runMatchCases([
    [
      'docs: dir/*.png',
      { detail: { f: [{ wildcard: 'dir/*.png' }] } },
      envelope({ f: 'dir/a.png' }),
      true,
    ],
    [
      '* spans slashes',
      { detail: { f: [{ wildcard: 'dir/*.png' }] } },
      envelope({ f: 'dir/sub/a.png' }),
      true,
    ],
    [
      'wrong extension',
      { detail: { f: [{ wildcard: 'dir/*.png' }] } },
      envelope({ f: 'dir/a.jpg' }),
      false,
    ],
    [
      '* matches an empty run',
      { detail: { f: [{ wildcard: '*.png' }] } },
      envelope({ f: '.png' }),
      true,
    ],
    [
      'lone * matches the empty string',
      { detail: { f: [{ wildcard: '*' }] } },
      envelope({ f: '' }),
      true,
    ],
    [
      'lone * never matches a number',
      { detail: { f: [{ wildcard: '*' }] } },
      envelope({ f: 5 }),
      false,
    ],
    ['a*b*c matches abc', { detail: { f: [{ wildcard: 'a*b*c' }] } }, envelope({ f: 'abc' }), true],
    [
      'a*b*c matches axxbyyc',
      { detail: { f: [{ wildcard: 'a*b*c' }] } },
      envelope({ f: 'axxbyyc' }),
      true,
    ],
    [
      'a*b*c does not match acb',
      { detail: { f: [{ wildcard: 'a*b*c' }] } },
      envelope({ f: 'acb' }),
      false,
    ],
    [
      'segments may not overlap',
      { detail: { f: [{ wildcard: 'ab*ba' }] } },
      envelope({ f: 'aba' }),
      false,
    ],
    [
      'segments around the star',
      { detail: { f: [{ wildcard: 'ab*ba' }] } },
      envelope({ f: 'abba' }),
      true,
    ],
    [
      'a middle segment may not overlap the last',
      { detail: { f: [{ wildcard: 'a*bc*c' }] } },
      envelope({ f: 'abc' }),
      false,
    ],
    [
      'middle and last segments in order',
      { detail: { f: [{ wildcard: 'a*bc*c' }] } },
      envelope({ f: 'abcc' }),
      true,
    ],
    [
      'Ruler README: Simple*Service',
      { source: [{ wildcard: 'Simple*Service' }] },
      envelope({}, { source: 'SimpleQueueService' }),
      true,
    ],
    [
      'no star is an exact match',
      { detail: { f: [{ wildcard: 'abc' }] } },
      envelope({ f: 'abcd' }),
      false,
    ],
    [
      'wildcard is case-sensitive',
      { detail: { f: [{ wildcard: '*.PNG' }] } },
      envelope({ f: 'a.png' }),
      false,
    ],
    [
      'escaped \\* is a literal asterisk',
      { detail: { f: [{ wildcard: 'a\\*b' }] } },
      envelope({ f: 'a*b' }),
      true,
    ],
    [
      'escaped \\* is not a wildcard',
      { detail: { f: [{ wildcard: 'a\\*b' }] } },
      envelope({ f: 'axb' }),
      false,
    ],
    [
      'escaped \\\\ is a literal backslash',
      { detail: { f: [{ wildcard: 'C:\\\\*' }] } },
      envelope({ f: 'C:\\temp' }),
      true,
    ],
    [
      'escape then wildcard: \\** is literal * then any',
      { detail: { f: [{ wildcard: '\\**' }] } },
      envelope({ f: '*rest' }),
      true,
    ],
    [
      '? and [ are literal characters',
      { detail: { f: [{ wildcard: 'a?[*' }] } },
      envelope({ f: 'a?[x' }),
      true,
    ],
  ]);
});

describe('anything-but', () => {
  runMatchCases([
    [
      'docs: single string, other value',
      { detail: { state: [{ 'anything-but': 'initializing' }] } },
      envelope({ state: 'running' }),
      true,
    ],
    [
      'single string, excluded value',
      { detail: { state: [{ 'anything-but': 'initializing' }] } },
      envelope({ state: 'initializing' }),
      false,
    ],
    [
      'does not match a missing field',
      { detail: { state: [{ 'anything-but': 'initializing' }] } },
      envelope({}),
      false,
    ],
    [
      'matches a null value',
      { detail: { state: [{ 'anything-but': ['no-message'] }] } },
      envelope({ state: null }),
      true,
    ],
    [
      'does not match an object value',
      { detail: { state: [{ 'anything-but': 'x' }] } },
      envelope({ state: { a: 1 } }),
      false,
    ],
    [
      'docs: single number, other value',
      { detail: { 'x-limit': [{ 'anything-but': 123 }] } },
      envelope({ 'x-limit': 124 }),
      true,
    ],
    [
      'single number, excluded value',
      { detail: { 'x-limit': [{ 'anything-but': 123 }] } },
      envelope({ 'x-limit': 123 }),
      false,
    ],
    [
      'single number, excluded as 123.0',
      { detail: { 'x-limit': [{ 'anything-but': 123 }] } },
      JSON.parse('{"detail":{"x-limit":123.0}}'),
      false,
    ],
    [
      'number list does not exclude a numeric string',
      { detail: { 'x-limit': [{ 'anything-but': [123] }] } },
      envelope({ 'x-limit': '123' }),
      true,
    ],
    [
      'string does not exclude the number',
      { detail: { 'x-limit': [{ 'anything-but': '123' }] } },
      envelope({ 'x-limit': 123 }),
      true,
    ],
    [
      'docs: string list, other value',
      { detail: { state: [{ 'anything-but': ['stopped', 'overloaded'] }] } },
      envelope({ state: 'running' }),
      true,
    ],
    [
      'string list, excluded value',
      { detail: { state: [{ 'anything-but': ['stopped', 'overloaded'] }] } },
      envelope({ state: 'overloaded' }),
      false,
    ],
    [
      'docs: number list, other value',
      { detail: { 'x-limit': [{ 'anything-but': [100, 200, 300] }] } },
      envelope({ 'x-limit': 150 }),
      true,
    ],
    [
      'number list, excluded value',
      { detail: { 'x-limit': [{ 'anything-but': [100, 200, 300] }] } },
      envelope({ 'x-limit': 200 }),
      false,
    ],
    [
      'event array: one element not excluded',
      { detail: { tags: [{ 'anything-but': 'a' }] } },
      envelope({ tags: ['a', 'b'] }),
      true,
    ],
    [
      'event array: every element excluded',
      { detail: { tags: [{ 'anything-but': 'a' }] } },
      envelope({ tags: ['a', 'a'] }),
      false,
    ],
    [
      'empty event array',
      { detail: { tags: [{ 'anything-but': 'a' }] } },
      envelope({ tags: [] }),
      false,
    ],
    [
      'is case-sensitive',
      { detail: { state: [{ 'anything-but': 'initializing' }] } },
      envelope({ state: 'INITIALIZING' }),
      true,
    ],
    [
      'docs: prefix, other value',
      { detail: { state: [{ 'anything-but': { prefix: 'init' } }] } },
      envelope({ state: 'running' }),
      true,
    ],
    [
      'prefix, excluded value',
      { detail: { state: [{ 'anything-but': { prefix: 'init' } }] } },
      envelope({ state: 'initializing' }),
      false,
    ],
    [
      'prefix list, other region',
      { region: [{ 'anything-but': { prefix: ['us-', 'eu-'] } }] },
      envelope({}, { region: 'ap-south-1' }),
      true,
    ],
    [
      'prefix list, excluded region',
      { region: [{ 'anything-but': { prefix: ['us-', 'eu-'] } }] },
      envelope({}, { region: 'eu-west-1' }),
      false,
    ],
    [
      'prefix passes a number (AWS quirk)',
      { detail: { n: [{ 'anything-but': { prefix: '1' } }] } },
      envelope({ n: 123 }),
      true,
    ],
    [
      'docs: suffix, other extension',
      { detail: { FileName: [{ 'anything-but': { suffix: '.png' } }] } },
      envelope({ FileName: 'a.jpg' }),
      true,
    ],
    [
      'suffix, excluded extension',
      { detail: { FileName: [{ 'anything-but': { suffix: '.png' } }] } },
      envelope({ FileName: 'a.png' }),
      false,
    ],
    [
      'docs: equals-ignore-case, other value',
      { detail: { state: [{ 'anything-but': { 'equals-ignore-case': 'initializing' } }] } },
      envelope({ state: 'running' }),
      true,
    ],
    [
      'equals-ignore-case, excluded in other case',
      { detail: { state: [{ 'anything-but': { 'equals-ignore-case': 'initializing' } }] } },
      envelope({ state: 'INITIALIZING' }),
      false,
    ],
    [
      'equals-ignore-case list',
      { detail: { state: [{ 'anything-but': { 'equals-ignore-case': ['a', 'B'] } }] } },
      envelope({ state: 'b' }),
      false,
    ],
    [
      'docs: wildcard, path without /lib/',
      { detail: { FilePath: [{ 'anything-but': { wildcard: '*/lib/*' } }] } },
      envelope({ FilePath: '/usr/bin/x' }),
      true,
    ],
    [
      'wildcard, path with /lib/',
      { detail: { FilePath: [{ 'anything-but': { wildcard: '*/lib/*' } }] } },
      envelope({ FilePath: '/usr/lib/x' }),
      false,
    ],
    [
      'wildcard list, excluded by the second',
      { detail: { f: [{ 'anything-but': { wildcard: ['*.png', '*.jpg'] } }] } },
      envelope({ f: 'a.jpg' }),
      false,
    ],
    [
      'two anything-but entries are ORed, so both pass something',
      { source: [{ 'anything-but': 'aws.ec2' }, { 'anything-but': 'aws.lambda' }] },
      envelope({}),
      true,
    ],
  ]);
});

describe('numeric', () => {
  const docsPattern = {
    detail: {
      'c-count': [{ numeric: ['>', 0, '<=', 5] }],
      'd-count': [{ numeric: ['<', 10] }],
      'x-limit': [{ numeric: ['=', 3.018e2] }],
    },
  };
  const n = (numeric: unknown[]) => ({ detail: { n: [{ numeric }] } });
  runMatchCases([
    [
      'docs: combined numeric example',
      docsPattern,
      envelope({ 'c-count': 5, 'd-count': 3, 'x-limit': 301.8 }),
      true,
    ],
    [
      'docs: combined example, one field out of range',
      docsPattern,
      envelope({ 'c-count': 6, 'd-count': 3, 'x-limit': 301.8 }),
      false,
    ],
    ['= matches equal number', n(['=', 5]), envelope({ n: 5 }), true],
    ['= matches 5.0', n(['=', 5]), JSON.parse('{"detail":{"n":5.0}}'), true],
    ['= does not match numeric string', n(['=', 5]), envelope({ n: '5' }), false],
    ['= does not match other number', n(['=', 5]), envelope({ n: 6 }), false],
    ['= 0 matches -0', n(['=', 0]), envelope({ n: -0 }), true],
    ['> is exclusive', n(['>', 0]), envelope({ n: 0 }), false],
    ['> just above', n(['>', 0]), envelope({ n: 0.000001 }), true],
    ['>= is inclusive', n(['>=', 0]), envelope({ n: 0 }), true],
    ['< is exclusive', n(['<', 10]), envelope({ n: 10 }), false],
    ['< just below', n(['<', 10]), envelope({ n: 9.999999 }), true],
    ['<= is inclusive', n(['<=', 10]), envelope({ n: 10 }), true],
    ['negative numbers', n(['<', 0]), envelope({ n: -1 }), true],
    ['range (0, 5]: lower bound excluded', n(['>', 0, '<=', 5]), envelope({ n: 0 }), false],
    ['range (0, 5]: upper bound included', n(['>', 0, '<=', 5]), envelope({ n: 5 }), true],
    ['range (0, 5]: just above', n(['>', 0, '<=', 5]), envelope({ n: 5.000001 }), false],
    ['range [0, 5): lower bound included', n(['>=', 0, '<', 5]), envelope({ n: 0 }), true],
    ['range [0, 5): upper bound excluded', n(['>=', 0, '<', 5]), envelope({ n: 5 }), false],
    ['numeric string never matches', n(['>', 0]), envelope({ n: '3' }), false],
    ['boolean never matches', n(['>', 0]), envelope({ n: true }), false],
    ['null never matches', n(['<', 10]), envelope({ n: null }), false],
    ['missing field never matches', n(['<', 10]), envelope({}), false],
    ['event array: one element in range', n(['<', 5]), envelope({ n: [10, 1] }), true],
    ['value beyond ±5e9 is not numeric (AWS limit)', n(['>', 0]), envelope({ n: 6e9 }), false],
    ['value at 5e9 is numeric', n(['>', 0]), envelope({ n: 5e9 }), true],
    [
      'value with 7 decimals is not numeric (AWS precision)',
      n(['>', 0]),
      envelope({ n: 0.1234567 }),
      false,
    ],
    ['0.1 + 0.2 is not 0.3 (17 decimals)', n(['=', 0.3]), envelope({ n: 0.1 + 0.2 }), false],
    [
      'two numeric entries are ORed: neither',
      { detail: { n: [{ numeric: ['<', 0] }, { numeric: ['>', 10] }] } },
      envelope({ n: 5 }),
      false,
    ],
    [
      'two numeric entries are ORed: one',
      { detail: { n: [{ numeric: ['<', 0] }, { numeric: ['>', 10] }] } },
      envelope({ n: 11 }),
      true,
    ],
  ]);
});

describe('exists', () => {
  const present = (exists: boolean) => ({ detail: { 'c-count': [{ exists }] } });
  runMatchCases([
    ['true: present string', present(true), envelope({ 'c-count': 'x' }), true],
    ['true: missing', present(true), envelope({}), false],
    ['true: null value exists', present(true), envelope({ 'c-count': null }), true],
    [
      'true: object value is not a leaf',
      present(true),
      envelope({ 'c-count': { c1: 100 } }),
      false,
    ],
    ['true: empty array has no leaf', present(true), envelope({ 'c-count': [] }), false],
    ['true: array with values', present(true), envelope({ 'c-count': [1] }), true],
    [
      'false: docs, field missing',
      present(false),
      envelope({ state: ['initializing', 'running'] }),
      true,
    ],
    ['false: present value', present(false), envelope({ 'c-count': 5 }), false],
    ['false: present null value exists', present(false), envelope({ 'c-count': null }), false],
    [
      'false: docs, object value is not a leaf',
      present(false),
      envelope({ 'c-count': { c1: 100 } }),
      true,
    ],
    ['false: empty array', present(false), envelope({ 'c-count': [] }), true],
    ['false: detail missing entirely', present(false), { source: 'x' }, true],
    ['false: detail is a string', present(false), envelope('text'), true],
    [
      'false AND another field',
      { source: ['aws.ec2'], detail: { 'c-count': [{ exists: false }] } },
      envelope({}),
      true,
    ],
    [
      'false inside an array element: judged against the matched element',
      { detail: { a: { b: ['x'], c: [{ exists: false }] } } },
      envelope({ a: [{ b: 'x' }, { b: 'y', c: 1 }] }),
      true,
    ],
    [
      'false inside an array element: the matched element has it',
      { detail: { a: { b: ['y'], c: [{ exists: false }] } } },
      envelope({ a: [{ b: 'x' }, { b: 'y', c: 1 }] }),
      false,
    ],
    [
      'exists false OR value',
      { detail: { v: [{ exists: false }, 'x'] } },
      envelope({ v: 'x' }),
      true,
    ],
  ]);
});

describe('cidr', () => {
  const ip = (cidr: string) => ({ detail: { sourceIPAddress: [{ cidr }] } });
  runMatchCases([
    [
      'docs: 10.0.0.0/24 contains 10.0.0.33',
      ip('10.0.0.0/24'),
      envelope({ sourceIPAddress: '10.0.0.33' }),
      true,
    ],
    ['outside the block', ip('10.0.0.0/24'), envelope({ sourceIPAddress: '10.0.1.1' }), false],
    [
      'network address is inside',
      ip('10.0.0.0/24'),
      envelope({ sourceIPAddress: '10.0.0.0' }),
      true,
    ],
    [
      'broadcast address is inside',
      ip('10.0.0.0/24'),
      envelope({ sourceIPAddress: '10.0.0.255' }),
      true,
    ],
    [
      'host bits in the block are floored',
      ip('10.0.0.5/24'),
      envelope({ sourceIPAddress: '10.0.0.1' }),
      true,
    ],
    [
      '/0 contains every IPv4 address',
      ip('0.0.0.0/0'),
      envelope({ sourceIPAddress: '203.0.113.9' }),
      true,
    ],
    ['/31 boundary', ip('192.168.1.2/31'), envelope({ sourceIPAddress: '192.168.1.4' }), false],
    ['not an IP string', ip('10.0.0.0/8'), envelope({ sourceIPAddress: 'not-an-ip' }), false],
    ['hostname', ip('127.0.0.0/8'), envelope({ sourceIPAddress: 'localhost' }), false],
    ['number value', ip('0.0.0.0/0'), envelope({ sourceIPAddress: 167772161 }), false],
    ['octet out of range', ip('10.0.0.0/8'), envelope({ sourceIPAddress: '10.0.0.256' }), false],
    [
      'leading-zero octets read as decimal',
      ip('10.0.0.0/24'),
      envelope({ sourceIPAddress: '010.000.000.033' }),
      true,
    ],
    ['IPv6 inside', ip('2001:db8::/32'), envelope({ sourceIPAddress: '2001:db8:1::1' }), true],
    ['IPv6 outside', ip('2001:db8::/32'), envelope({ sourceIPAddress: '2001:db9::1' }), false],
    ['IPv6 upper case', ip('2001:db8::/32'), envelope({ sourceIPAddress: '2001:DB8::1' }), true],
    [
      'IPv6 full form',
      ip('2001:db8::/32'),
      envelope({ sourceIPAddress: '2001:0db8:0000:0000:0000:0000:0000:0001' }),
      true,
    ],
    ['IPv4 value against IPv6 block', ip('::/0'), envelope({ sourceIPAddress: '10.0.0.1' }), false],
    ['IPv6 value against IPv4 block', ip('0.0.0.0/0'), envelope({ sourceIPAddress: '::1' }), false],
    [
      'event array of addresses',
      ip('10.0.0.0/24'),
      envelope({ sourceIPAddress: ['192.0.2.1', '10.0.0.7'] }),
      true,
    ],
  ]);
});

describe('$or', () => {
  const cloudwatch = {
    source: ['aws.cloudwatch'],
    $or: [{ metricName: ['CPUUtilization', 'ReadLatency'] }, { namespace: ['AWS/EC2', 'AWS/ES'] }],
  };
  const nested = {
    source: ['aws.cloudwatch'],
    $or: [
      { metricName: ['CPUUtilization'] },
      {
        metricType: ['MetricType'],
        namespace: ['AWS/EC2'],
        $or: [{ metricId: [1234] }, { spaceId: [1000] }],
      },
    ],
  };
  const parallel = {
    $or: [{ metricName: ['CPUUtilization'] }, { namespace: ['AWS/EC2'] }],
    detail: {
      $or: [{ source: ['aws.cloudwatch'] }, { 'detail-type': ['CloudWatch Alarm State Change'] }],
    },
  };
  runMatchCases([
    [
      'docs: first branch',
      cloudwatch,
      { source: 'aws.cloudwatch', metricName: 'ReadLatency' },
      true,
    ],
    ['docs: second branch', cloudwatch, { source: 'aws.cloudwatch', namespace: 'AWS/ES' }, true],
    ['docs: neither branch', cloudwatch, { source: 'aws.cloudwatch', namespace: 'AWS/S3' }, false],
    [
      'docs: branch matches but the AND field does not',
      cloudwatch,
      { source: 'aws.ec2', metricName: 'ReadLatency' },
      false,
    ],
    [
      'only $or, neither alternative',
      { $or: [{ source: ['aws.ec2'] }, { source: ['aws.s3'] }] },
      { source: 'my.app' },
      false,
    ],
    [
      'only $or, second alternative',
      { $or: [{ source: ['aws.ec2'] }, { source: ['aws.s3'] }] },
      { source: 'aws.s3' },
      true,
    ],
    [
      'nested $or: inner first branch',
      nested,
      { source: 'aws.cloudwatch', metricType: 'MetricType', namespace: 'AWS/EC2', metricId: 1234 },
      true,
    ],
    [
      'nested $or: inner second branch',
      nested,
      { source: 'aws.cloudwatch', metricType: 'MetricType', namespace: 'AWS/EC2', spaceId: 1000 },
      true,
    ],
    [
      'nested $or: branch AND needs every field',
      nested,
      { source: 'aws.cloudwatch', metricType: 'MetricType', metricId: 1234 },
      false,
    ],
    [
      'nested $or: inner alternatives all fail',
      nested,
      { source: 'aws.cloudwatch', metricType: 'MetricType', namespace: 'AWS/EC2', metricId: 1 },
      false,
    ],
    [
      'parallel $or at two levels: both satisfied',
      parallel,
      { namespace: 'AWS/EC2', detail: { 'detail-type': 'CloudWatch Alarm State Change' } },
      true,
    ],
    [
      'parallel $or at two levels: only the outer',
      parallel,
      { namespace: 'AWS/EC2', detail: { source: 'other' } },
      false,
    ],
    [
      '$or branches with exists',
      { $or: [{ a: [{ exists: false }] }, { a: ['x'] }] },
      { a: 'y' },
      false,
    ],
    [
      '$or branches with exists: absent',
      { $or: [{ a: [{ exists: false }] }, { a: ['x'] }] },
      { b: 1 },
      true,
    ],
    [
      '$or inside array objects keeps array consistency',
      { detail: { items: { $or: [{ a: ['1'] }, { b: ['2'] }], c: ['3'] } } },
      envelope({ items: [{ a: '1' }, { c: '3' }] }),
      false,
    ],
    [
      'AWS quirk: a $or branch overrides a path written before it',
      { a: ['1'], $or: [{ a: ['2'] }, { b: ['3'] }] },
      { a: '2' },
      true,
    ],
    [
      'AWS quirk: the overridden value alone no longer matches',
      { a: ['1'], $or: [{ a: ['2'] }, { b: ['3'] }] },
      { a: '1' },
      false,
    ],
  ]);
});

describe("this project's rules", () => {
  const BUS_ARN = 'arn:aws:events:us-east-1:123456789012:event-bus/eventjobs';
  const WORKER = 'arn:aws:lambda:us-east-1:123456789012:function:w';

  // The outcome rule: what the completion function consumes from the worker.
  const outcomePattern = {
    source: ['eventjobs'],
    'detail-type': ['Job Completed', 'Job Failed', 'Job Cancelled'],
  };
  const outcome = (overrides: Record<string, unknown> = {}) => ({
    version: '0',
    id: '0d079340-135a-c8c6-95c2-41fb8f496c53',
    'detail-type': 'Job Completed',
    source: 'eventjobs',
    account: '123456789012',
    time: '2026-01-05T10:00:02Z',
    region: 'us-east-1',
    resources: [],
    detail: {
      owner: 'arn:aws:iam::123456789012:user/alice',
      jobName: 'nightly.report',
      runId: '01JH2X7Q8Z',
      type: 'echo',
      attempt: 1,
      startedAt: '2026-01-05T10:00:00Z',
      finishedAt: '2026-01-05T10:00:02Z',
      durationMs: 2000,
      result: { ok: true },
    },
    ...overrides,
  });

  // The worker's OnFailure destination record (AWS-FACTS, Lambda).
  const failurePattern = {
    source: ['lambda'],
    'detail-type': ['Lambda Function Invocation Result - Failure'],
    resources: [{ prefix: `${WORKER}:` }],
  };
  const failure = (overrides: Record<string, unknown> = {}) => ({
    version: '0',
    id: '2b3a7f3e-6a1c-4f53-8f2e-7c4f3d6a9b10',
    'detail-type': 'Lambda Function Invocation Result - Failure',
    source: 'lambda',
    account: '123456789012',
    time: '2026-01-05T10:03:00Z',
    region: 'us-east-1',
    resources: [BUS_ARN, `${WORKER}:$LATEST`],
    detail: {
      version: '1.0',
      timestamp: '2026-01-05T10:03:00.123Z',
      requestContext: {
        requestId: 'c3b1f0f6-8f0e-4a8e-9a8b-0f5b7c9d1e2f',
        functionArn: `${WORKER}:$LATEST`,
        condition: 'RetriesExhausted',
        approximateInvokeCount: 3,
      },
      requestPayload: { owner: 'alice', jobName: 'nightly.report', runId: '01JH2X7Q8Z' },
      responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
      responsePayload: { errorType: 'Error', errorMessage: 'boom' },
    },
    ...overrides,
  });

  runMatchCases([
    ['outcome: Job Completed', outcomePattern, outcome(), true],
    ['outcome: Job Failed', outcomePattern, outcome({ 'detail-type': 'Job Failed' }), true],
    ['outcome: Job Cancelled', outcomePattern, outcome({ 'detail-type': 'Job Cancelled' }), true],
    [
      'outcome: other detail-type',
      outcomePattern,
      outcome({ 'detail-type': 'Job Started' }),
      false,
    ],
    [
      'outcome: detail-type in other case',
      outcomePattern,
      outcome({ 'detail-type': 'job completed' }),
      false,
    ],
    ['outcome: other source', outcomePattern, outcome({ source: 'eventjobs-dev' }), false],
    ['outcome: lambda source', outcomePattern, outcome({ source: 'lambda' }), false],
    ['outcome: no detail-type', outcomePattern, { source: 'eventjobs', detail: {} }, false],
    ['failure: destination record of the worker', failurePattern, failure(), true],
    [
      'failure: worker invoked through an alias',
      failurePattern,
      failure({ resources: [BUS_ARN, `${WORKER}:live`] }),
      true,
    ],
    [
      'failure: success record',
      failurePattern,
      failure({ 'detail-type': 'Lambda Function Invocation Result - Success' }),
      false,
    ],
    [
      'failure: another function sharing the name prefix',
      failurePattern,
      failure({ resources: [BUS_ARN, `${WORKER}-other:$LATEST`] }),
      false,
    ],
    [
      'failure: unqualified function ARN',
      failurePattern,
      failure({ resources: [BUS_ARN, WORKER] }),
      false,
    ],
    [
      'failure: same function name in another account',
      failurePattern,
      failure({ resources: [BUS_ARN, 'arn:aws:lambda:us-east-1:999999999999:function:w:$LATEST'] }),
      false,
    ],
    [
      'failure: aws.lambda is not the destination source',
      failurePattern,
      failure({ source: 'aws.lambda' }),
      false,
    ],
    [
      'failure: resources hold only the bus',
      failurePattern,
      failure({ resources: [BUS_ARN] }),
      false,
    ],
  ]);
});

describe('patterns given as JSON text', () => {
  runMatchCases([
    [
      'JSON text matches like the object',
      '{"source":["aws.ec2"],"detail":{"state":[{"anything-but":"x"}]}}',
      envelope({ state: 'y' }),
      true,
    ],
    [
      'JSON text with null (the CloudFormation workaround)',
      '{"detail":{"responseElements":[null]}}',
      envelope({ responseElements: null }),
      true,
    ],
    ['JSON text keeps 5.0 a number', '{"detail":{"n":[5.0]}}', envelope({ n: 5 }), true],
    ['JSON text no match', '{"source":["aws.s3"]}', envelope({}), false],
  ]);
});

describe('compiled patterns and prepared events', () => {
  it('gives the same answers as matchesPattern, for every rule against one prepared event', () => {
    // Prepare
    const event = envelope({ state: 'running', n: 7 });
    const patterns = [
      { detail: { state: ['running'] } },
      { detail: { n: [{ numeric: ['>', 10] }] } },
      '{"source":[{"prefix":"aws."}]}',
    ];
    const prepared = prepareEvent(event);

    // Act
    const compiled = patterns.map((pattern) => compilePattern(pattern).matches(prepared));
    const direct = patterns.map((pattern) => matchesPattern(pattern, event));

    // Assess
    expect(compiled).toEqual([true, false, true]);
    expect(direct).toEqual(compiled);
  });

  it('returns the cached compilation for the same pattern text or object', () => {
    // Prepare
    const pattern = { source: ['aws.ec2'] };

    // Act / Assess
    expect(compilePattern(pattern)).toBe(compilePattern(pattern));
    expect(compilePattern('{"a":["b"]}')).toBe(compilePattern('{"a":["b"]}'));
  });

  it('throws InvalidEventPatternError from matchesPattern for an invalid pattern', () => {
    // Act
    const error = caught(() => matchesPattern({ source: 'aws.ec2' }, envelope({})));

    // Assess
    expect(error).toBeInstanceOf(InvalidEventPatternError);
  });

  it('keeps the JSON parse error as the cause', () => {
    // Act
    const error = caught(() => validatePattern('{"source": ['));

    // Assess
    expect(error).toBeInstanceOf(InvalidEventPatternError);
    expect((error as Error).cause).toBeInstanceOf(SyntaxError);
  });
});

describe('validatePattern accepts', () => {
  it.each<readonly [string, unknown]>([
    ['exact values of every type', { a: ['x', '', 5, -1.5, true, false, null] }],
    ['nested objects', { detail: { a: { b: ['c'] } } }],
    ['prefix', { a: [{ prefix: 'x' }] }],
    ['empty prefix', { a: [{ prefix: '' }] }],
    ['prefix equals-ignore-case', { a: [{ prefix: { 'equals-ignore-case': 'x' } }] }],
    ['suffix equals-ignore-case', { a: [{ suffix: { 'equals-ignore-case': 'x' } }] }],
    ['equals-ignore-case', { a: [{ 'equals-ignore-case': 'x' }] }],
    ['wildcard with escapes', { a: [{ wildcard: 'a\\*b\\\\c*' }] }],
    [
      'anything-but forms',
      {
        a: [
          { 'anything-but': 'x' },
          { 'anything-but': 5 },
          { 'anything-but': ['x', 'y'] },
          { 'anything-but': [1, 2] },
        ],
      },
    ],
    [
      'anything-but nested forms',
      {
        a: [
          { 'anything-but': { prefix: 'x' } },
          { 'anything-but': { suffix: ['x', 'y'] } },
          { 'anything-but': { 'equals-ignore-case': ['x'] } },
          { 'anything-but': { wildcard: '*/lib/*' } },
        ],
      },
    ],
    [
      'numeric forms',
      {
        a: [
          { numeric: ['=', 5] },
          { numeric: ['<', 5] },
          { numeric: ['<=', -5] },
          { numeric: ['>', 0] },
          { numeric: ['>=', 0, '<', 1.5] },
        ],
      },
    ],
    ['numeric at the ±5e9 limits', { a: [{ numeric: ['>=', -5e9, '<=', 5e9] }] }],
    ['numeric with six decimals', { a: [{ numeric: ['>', 0.000001] }] }],
    ['exists', { a: [{ exists: true }], b: [{ exists: false }] }],
    [
      'cidr v4 and v6',
      { a: [{ cidr: '10.0.0.0/8' }, { cidr: '2001:db8::/32' }, { cidr: '10.0.0.1/31' }] },
    ],
    ['$or', { $or: [{ a: ['x'] }, { b: ['y'] }] }],
    ['$or nested in an object', { detail: { $or: [{ a: ['x'] }, { b: { c: ['y'] } }] } }],
    ['a number too large for numeric matching as an exact value', { account: [123456789012] }],
    ['an unknown top-level field (it is only a path)', { nonesuch: [{ exists: false }] }],
  ])('%s', (_name, pattern) => {
    expect(() => validatePattern(pattern)).not.toThrow();
  });
});

describe('validatePattern rejects', () => {
  const deep: Record<string, unknown> = { leaf: ['x'] };
  let nestedTooDeep: Record<string, unknown> = deep;
  for (let i = 0; i < 1000; i += 1) nestedTooDeep = { a: nestedTooDeep };
  const eleven = (prefix: string) =>
    Array.from({ length: 11 }, (_, i) => ({ [`${prefix}${i}`]: ['x'] }));
  const tooManyCombinations = {
    a: { $or: eleven('a') },
    b: { $or: eleven('b') },
    c: { $or: eleven('c') },
  };

  it.each<readonly [string, unknown, string]>([
    ['null', null, 'Filter is not an object'],
    ['an array', [{ source: ['x'] }], 'Filter is not an object'],
    ['a number', 5, 'Filter is not an object'],
    ['JSON text of an array', '[{"source":["x"]}]', 'Filter is not an object'],
    ['invalid JSON text', '{source: ["x"]}', 'Filter is not valid JSON'],
    ['an empty object', {}, 'Empty objects are not allowed'],
    ['an empty nested object', { detail: {} }, 'Empty objects are not allowed'],
    ['a bare string value', { source: 'aws.ec2' }, '"source" must be an object or an array'],
    ['a bare number value', { detail: { n: 5 } }, '"n" must be an object or an array'],
    ['a bare null value', { detail: { n: null } }, '"n" must be an object or an array'],
    ['an empty value list', { source: [] }, 'Empty arrays are not allowed'],
    [
      'a nested array value',
      { source: [['aws.ec2']] },
      'Match value must be String, number, true, false, or null',
    ],
    [
      'a non-finite number',
      { n: [Number.NaN] },
      'Match value must be String, number, true, false, or null',
    ],
    ['an empty match expression', { source: [{}] }, 'Match expression name not found'],
    ['an unknown operator', { source: [{ contains: 'x' }] }, 'Unrecognized match type contains'],
    [
      'Ruler-only "exactly" (choice: strict)',
      { source: [{ exactly: 'x' }] },
      'Unrecognized match type exactly',
    ],
    [
      'operator names are case-sensitive',
      { source: [{ Prefix: 'x' }] },
      'Unrecognized match type Prefix',
    ],
    [
      'two operators in one expression',
      { source: [{ prefix: 'a', suffix: 'b' }] },
      'Only one key allowed in match expression',
    ],
    ['prefix not a string', { source: [{ prefix: 5 }] }, 'prefix match pattern must be a string'],
    ['prefix null', { source: [{ prefix: null }] }, 'prefix match pattern must be a string'],
    [
      'prefix with an empty object',
      { source: [{ prefix: {} }] },
      'Prefix expression name not found',
    ],
    [
      'prefix with another nested operator',
      { source: [{ prefix: { wildcard: 'a' } }] },
      'Unsupported prefix pattern: wildcard',
    ],
    [
      'prefix equals-ignore-case not a string',
      { source: [{ prefix: { 'equals-ignore-case': 5 } }] },
      'equals-ignore-case match pattern must be a string',
    ],
    [
      'prefix equals-ignore-case with a second key',
      { source: [{ prefix: { 'equals-ignore-case': 'a', x: 1 } }] },
      'Only one key allowed in match expression',
    ],
    [
      'suffix not a string',
      { source: [{ suffix: ['x'] }] },
      'suffix match pattern must be a string',
    ],
    [
      'suffix with another nested operator',
      { source: [{ suffix: { prefix: 'a' } }] },
      'Unsupported suffix pattern: prefix',
    ],
    [
      'equals-ignore-case not a string',
      { source: [{ 'equals-ignore-case': ['x'] }] },
      'equals-ignore-case match pattern must be a string',
    ],
    [
      'wildcard not a string',
      { source: [{ wildcard: 5 }] },
      'wildcard match pattern must be a string',
    ],
    [
      'consecutive wildcards',
      { source: [{ wildcard: 'a**b' }] },
      'Consecutive wildcard characters at pos 2',
    ],
    [
      'consecutive wildcards at the start',
      { source: [{ wildcard: '**' }] },
      'Consecutive wildcard characters at pos 1',
    ],
    [
      'wildcard positions count UTF-8 bytes',
      { source: [{ wildcard: 'é**' }] },
      'Consecutive wildcard characters at pos 3',
    ],
    ['escaping a letter', { source: [{ wildcard: 'a\\b' }] }, 'Invalid escape character at pos 2'],
    [
      'a trailing backslash',
      { source: [{ wildcard: 'ab\\' }] },
      'Invalid escape character at pos 3',
    ],
    [
      'exists as a string',
      { a: [{ exists: 'true' }] },
      'exists match pattern must be either true or false.',
    ],
    [
      'exists as a number',
      { a: [{ exists: 1 }] },
      'exists match pattern must be either true or false.',
    ],
    [
      'exists with a second key',
      { a: [{ exists: true, prefix: 'a' }] },
      'Only one key allowed in match expression',
    ],
    ['numeric not an array', { a: [{ numeric: '>5' }] }, 'Value of numeric must be an array.'],
    ['numeric empty', { a: [{ numeric: [] }] }, 'Invalid member in numeric match: ]'],
    [
      'numeric without an operator',
      { a: [{ numeric: [5] }] },
      'Invalid member in numeric match: 5',
    ],
    [
      'numeric unknown operator',
      { a: [{ numeric: ['!=', 5] }] },
      'Unrecognized numeric range operator: !=',
    ],
    ['numeric value as a string', { a: [{ numeric: ['>', '5'] }] }, 'Value of > must be numeric'],
    [
      'numeric = value as a string',
      { a: [{ numeric: ['=', '5'] }] },
      'Value of equals must be numeric',
    ],
    [
      'numeric operator without a value',
      { a: [{ numeric: ['<='] }] },
      'Value of <= must be numeric',
    ],
    [
      'numeric = cannot be a range',
      { a: [{ numeric: ['=', 5, '<', 10] }] },
      'Too many elements in numeric expression',
    ],
    [
      'numeric range must start with the lower bound',
      { a: [{ numeric: ['<', 10, '>', 5] }] },
      'Too many elements in numeric expression',
    ],
    [
      'numeric range with two lower bounds',
      { a: [{ numeric: ['>', 5, '>', 10] }] },
      'Bad numeric range operator: >',
    ],
    [
      'numeric range missing its second operator',
      { a: [{ numeric: ['>', 5, 10] }] },
      'Bad value in numeric range: 10',
    ],
    [
      'numeric range upper value as a string',
      { a: [{ numeric: ['>', 5, '<', '10'] }] },
      'Value of < must be numeric',
    ],
    [
      'numeric range with too many terms',
      { a: [{ numeric: ['>', 5, '<', 10, '<', 20] }] },
      'Too many terms in numeric range expression',
    ],
    [
      'numeric impossible range',
      { a: [{ numeric: ['>', 10, '<', 5] }] },
      'Bottom must be less than top',
    ],
    [
      'numeric empty range',
      { a: [{ numeric: ['>', 5, '<=', 5] }] },
      'Bottom must be less than top',
    ],
    ['numeric below the floor', { a: [{ numeric: ['<', -5e9] }] }, 'Bottom must be less than top'],
    [
      'numeric beyond 5e9',
      { a: [{ numeric: ['=', 6e9] }] },
      'Value must be between -5.0E9 and 5.0E9, inclusive',
    ],
    [
      'numeric upper bound beyond 5e9',
      { a: [{ numeric: ['<', 6e9] }] },
      'Value must be between -5.0E9 and 5.0E9, inclusive',
    ],
    [
      'numeric with seven decimals (choice: strict)',
      { a: [{ numeric: ['>', 0.1234567] }] },
      'Only values upto 6 decimals are supported',
    ],
    [
      'numeric with a second key',
      { a: [{ numeric: ['>', 1], prefix: 'a' }] },
      'Too many elements in numeric expression',
    ],
    [
      'anything-but true',
      { a: [{ 'anything-but': true }] },
      'Value of anything-but must be an array or single string/number value.',
    ],
    [
      'anything-but null',
      { a: [{ 'anything-but': null }] },
      'Value of anything-but must be an array or single string/number value.',
    ],
    [
      'anything-but list with a boolean',
      { a: [{ 'anything-but': ['x', true] }] },
      'Inside anything but list, start|null|boolean is not supported.',
    ],
    [
      'anything-but list with null',
      { a: [{ 'anything-but': [null] }] },
      'Inside anything but list, start|null|boolean is not supported.',
    ],
    [
      'anything-but list with an object',
      { a: [{ 'anything-but': [{ prefix: 'x' }] }] },
      'Inside anything but list, start|null|boolean is not supported.',
    ],
    [
      'anything-but mixed list',
      { a: [{ 'anything-but': ['x', 1] }] },
      'Inside anything but list, either all values are number or string, mixed type is not supported',
    ],
    [
      'anything-but empty list',
      { a: [{ 'anything-but': [] }] },
      'Inside anything but list, either all values are number or string, mixed type is not supported',
    ],
    [
      'anything-but number beyond 5e9',
      { a: [{ 'anything-but': [6e9] }] },
      'Value must be between -5.0E9 and 5.0E9, inclusive',
    ],
    [
      'anything-but with a second key',
      { a: [{ 'anything-but': 'x', prefix: 'y' }] },
      'Too many elements in numeric expression',
    ],
    [
      'anything-but empty object',
      { a: [{ 'anything-but': {} }] },
      'Anything-But expression name not found',
    ],
    [
      'nested anything-but',
      { a: [{ 'anything-but': { 'anything-but': 'x' } }] },
      'Unsupported anything-but pattern: anything-but',
    ],
    [
      'anything-but numeric',
      { a: [{ 'anything-but': { numeric: ['>', 1] } }] },
      'Unsupported anything-but pattern: numeric',
    ],
    [
      'anything-but exists',
      { a: [{ 'anything-but': { exists: true } }] },
      'Unsupported anything-but pattern: exists',
    ],
    [
      'anything-but cidr',
      { a: [{ 'anything-but': { cidr: '10.0.0.0/8' } }] },
      'Unsupported anything-but pattern: cidr',
    ],
    [
      'anything-but empty prefix',
      { a: [{ 'anything-but': { prefix: '' } }] },
      'Null prefix/suffix not allowed',
    ],
    [
      'anything-but empty suffix in a list',
      { a: [{ 'anything-but': { suffix: ['.png', ''] } }] },
      'Null prefix/suffix not allowed',
    ],
    [
      'anything-but prefix as a number',
      { a: [{ 'anything-but': { prefix: 5 } }] },
      'prefix/suffix match pattern must be a string',
    ],
    [
      'anything-but prefix as a boolean',
      { a: [{ 'anything-but': { prefix: true } }] },
      'Value of anything-but must be an array or single string/number value.',
    ],
    [
      'anything-but empty prefix list (choice: strict)',
      { a: [{ 'anything-but': { prefix: [] } }] },
      'Empty arrays are not allowed',
    ],
    [
      'anything-but equals-ignore-case number',
      { a: [{ 'anything-but': { 'equals-ignore-case': 5 } }] },
      'Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported.',
    ],
    [
      'anything-but wildcard number',
      { a: [{ 'anything-but': { wildcard: 5 } }] },
      'wildcard match pattern must be a string',
    ],
    [
      'anything-but wildcard consecutive stars',
      { a: [{ 'anything-but': { wildcard: ['ok*', 'a**'] } }] },
      'Consecutive wildcard characters at pos 2',
    ],
    [
      'anything-but nested with a second key',
      { a: [{ 'anything-but': { prefix: 'a', suffix: 'b' } }] },
      'Too many elements in numeric expression',
    ],
    ['cidr not a string', { a: [{ cidr: 5 }] }, 'prefix match pattern must be a string'],
    ['cidr without a mask', { a: [{ cidr: '10.0.0.0' }] }, "Malformed CIDR, one '/' required"],
    ['cidr with an empty mask', { a: [{ cidr: '10.0.0.0/' }] }, "Malformed CIDR, one '/' required"],
    ['cidr with two masks', { a: [{ cidr: '10.0.0.0/8/8' }] }, "Malformed CIDR, one '/' required"],
    [
      'cidr mask not an integer',
      { a: [{ cidr: '10.0.0.0/x' }] },
      'Malformed CIDR, mask bits must be an integer',
    ],
    [
      'cidr negative mask',
      { a: [{ cidr: '10.0.0.0/-1' }] },
      'Malformed CIDR, mask bits must not be negative',
    ],
    ['cidr IPv4 /32', { a: [{ cidr: '10.0.0.1/32' }] }, 'IPv4 mask bits must be < 32'],
    ['cidr IPv6 /128', { a: [{ cidr: '::1/128' }] }, 'IPv6 mask bits must be < 128'],
    [
      'cidr with a hostname',
      { a: [{ cidr: 'example.com/24' }] },
      'Nonstandard IP address: example.com',
    ],
    [
      'cidr with an octet out of range',
      { a: [{ cidr: '10.0.0.256/24' }] },
      'Invalid IP address: 10.0.0.256',
    ],
    ['cidr with a malformed IPv6', { a: [{ cidr: '1::2::3/64' }] }, 'Invalid IP address: 1::2::3'],
    [
      '$or not an array (choice: strict)',
      { $or: { a: ['x'] } },
      'It must be an Array followed with $or.',
    ],
    [
      '$or with a non-object member',
      { $or: [{ a: ['x'] }, 'b'] },
      'Only JSON object is allowed in array of $or relationship.',
    ],
    [
      '$or with one member',
      { $or: [{ a: ['x'] }] },
      'There must have at least 2 Objects in $or relationship.',
    ],
    ['$or empty', { $or: [] }, 'There must have at least 2 Objects in $or relationship.'],
    [
      '$or member using an operator name as a field',
      { $or: [{ numeric: ['>', 1] }, { prefix: ['a'] }] },
      'numeric is Ruler reserved fieldName which cannot be used inside $or.',
    ],
    [
      '$or member with an empty object',
      { $or: [{ a: ['x'] }, {}] },
      'Empty objects are not allowed',
    ],
    [
      '$or expanding to more than 1000 alternatives',
      tooManyCombinations,
      'Event pattern contains more than 1000 rule combinations',
    ],
    [
      'nesting deeper than 1000 levels',
      nestedTooDeep,
      'Document nesting depth (1001) exceeds the maximum allowed (1000, from `StreamReadConstraints.getMaxNestingDepth()`)',
    ],
  ])('%s', (_name, pattern, reason) => {
    // Act
    const error = caught(() => validatePattern(pattern));

    // Assess
    expect(error).toBeInstanceOf(InvalidEventPatternError);
    expect(error).toMatchObject({
      name: 'InvalidEventPatternException',
      code: 'InvalidEventPatternException',
      reason,
      message: `Event pattern is not valid. Reason: ${reason}`,
    });
  });
});
