import { describe, expect, it } from 'vitest';
import { canonicalJson, sha256Hex, utf8Length } from '../../../../functions/shared/json';

describe('canonicalJson', () => {
  it('sorts object keys at every depth and keeps array order', () => {
    // Prepare
    const value = { b: 1, a: { d: [3, { z: 1, y: 2 }], c: null } };

    // Act
    const text = canonicalJson(value);

    // Assess
    expect(text).toBe('{"a":{"c":null,"d":[3,{"y":2,"z":1}]},"b":1}');
  });

  it('gives equal text, and so equal hashes, for equal values built in any order', () => {
    // Prepare
    const one = { value: { x: 1, y: [1, 2], '10': 'a', '2': 'b' } };
    const other = { value: { '2': 'b', y: [1, 2], '10': 'a', x: 1 } };

    // Act
    const texts = [canonicalJson(one), canonicalJson(other)];

    // Assess
    expect(texts[0]).toBe(texts[1]);
    expect(sha256Hex(texts[0] ?? '')).toBe(sha256Hex(texts[1] ?? ''));
  });

  it('keeps a __proto__ key as a key, so values that differ only under it differ', () => {
    // Prepare: JSON.parse makes __proto__ an own property, as the request body's parser does.
    const one = JSON.parse('{"__proto__":{"a":1}}');
    const other = JSON.parse('{"__proto__":{"b":2}}');
    const nested = JSON.parse('{"z":{"__proto__":1,"y":[{"__proto__":null}]}}');

    // Act
    const texts = [canonicalJson(one), canonicalJson(other), canonicalJson(nested)];

    // Assess
    expect(texts[0]).toBe('{"__proto__":{"a":1}}');
    expect(texts[1]).toBe('{"__proto__":{"b":2}}');
    expect(texts[2]).toBe('{"z":{"__proto__":1,"y":[{"__proto__":null}]}}');
    expect(canonicalJson(JSON.parse('{"__proto__":1}'))).not.toBe(canonicalJson({}));
  });

  it('keeps keys that name Object.prototype members as ordinary keys', () => {
    // Prepare
    const value = JSON.parse(
      '{"toString":1,"constructor":{"prototype":2},"hasOwnProperty":null,"__proto__":[]}',
    );

    // Act
    const text = canonicalJson(value);

    // Assess
    expect(text).toBe(
      '{"__proto__":[],"constructor":{"prototype":2},"hasOwnProperty":null,"toString":1}',
    );
  });

  it('tells different values apart', () => {
    // Act
    const texts = [canonicalJson({ a: [1, 2] }), canonicalJson({ a: [2, 1] })];

    // Assess
    expect(texts[0]).not.toBe(texts[1]);
  });

  it('is JSON.stringify for values without objects', () => {
    // Act & Assess
    for (const value of [null, 1, 'x', true, [1, 'a', null]]) {
      expect(canonicalJson(value)).toBe(JSON.stringify(value));
    }
  });

  it('drops undefined fields as JSON does', () => {
    // Act
    const text = canonicalJson({ b: undefined, a: 1 });

    // Assess
    expect(text).toBe('{"a":1}');
  });
});

describe('sha256Hex', () => {
  it('is the hex SHA-256 of the UTF-8 text', () => {
    // Act & Assess (FIPS 180-2 test vector)
    expect(sha256Hex('abc')).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
  });
});

describe('utf8Length', () => {
  it('counts bytes, not characters', () => {
    // Act & Assess
    expect(utf8Length('abc')).toBe(3);
    expect(utf8Length('é')).toBe(2);
    expect(utf8Length('🚀')).toBe(4);
  });
});
