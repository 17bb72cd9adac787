import { describe, expect, it } from 'vitest';
import { intEnv, requireEnv } from '../../../../core/config';
import { ConfigError } from '../../../../core/errors';

describe('requireEnv', () => {
  it('returns a set variable', () => {
    // Act & Assess
    expect(requireEnv('TABLE', { TABLE: 'jobs' })).toBe('jobs');
  });

  it.each([[{}], [{ TABLE: '' }]])(
    'fails loudly, naming the variable, when it is unset or empty',
    (env) => {
      // Act
      const act = () => requireEnv('TABLE', env);

      // Assess
      expect(act).toThrow(ConfigError);
      expect(act).toThrow(/TABLE/);
    },
  );
});

describe('intEnv', () => {
  it('falls back when unset or empty and parses a positive integer', () => {
    // Act & Assess
    expect(intEnv('N', 7, {})).toBe(7);
    expect(intEnv('N', 7, { N: '' })).toBe(7);
    expect(intEnv('N', 7, { N: '1024' })).toBe(1024);
  });

  it.each(['0', '-1', '1.5', 'abc', '1e400'])('refuses %j', (raw) => {
    // Act & Assess
    expect(() => intEnv('N', 7, { N: raw })).toThrow(ConfigError);
  });
});
