import { runJob } from 'eventjobs/testing';
import { describe, expect, it } from 'vitest';
import { hello } from '../src/jobs';

describe('hello', () => {
  it('greets by name', async () => {
    const run = await runJob(hello, { name: 'world' });

    expect(run.status).toBe('SUCCEEDED');
    expect(run.result).toEqual({ greeting: 'Hello, world!' });
  });

  it('refuses an empty name', async () => {
    await expect(runJob(hello, { name: '' })).rejects.toThrow(/name/);
  });
});
