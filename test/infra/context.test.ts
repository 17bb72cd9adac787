import { App } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { jobsFromContext } from '../../infra/context';

describe('CDK context overrides (cdk deploy -c key=value)', () => {
  it('reads the API throttle, alone or together, as cdk passes them: strings', () => {
    // prepare
    const both = new App({ context: { apiRateLimit: '10000', apiBurstLimit: '5000' } });
    const rateOnly = new App({ context: { apiRateLimit: '200' } });
    // act
    const fromBoth = jobsFromContext(both);
    const fromRate = jobsFromContext(rateOnly);
    const fromNone = jobsFromContext(new App());
    // assess
    expect(fromBoth.throttling).toEqual({ rateLimit: 10000, burstLimit: 5000 });
    expect(fromRate.throttling).toEqual({ rateLimit: 200 });
    expect(fromNone).toEqual({});
  });

  it('reads the worker settings and refuses a value that is not a whole number', () => {
    // prepare
    const app = new App({ context: { workerTimeoutSeconds: '5', workerReservedConcurrency: 10 } });
    const bad = new App({ context: { apiBurstLimit: 'lots' } });
    // act
    const jobs = jobsFromContext(app);
    // assess
    expect(jobs.workerTimeout?.toSeconds()).toBe(5);
    expect(jobs.workerReservedConcurrency).toBe(10);
    expect(() => jobsFromContext(bad)).toThrow(/apiBurstLimit must be a whole number, got "lots"/);
  });
});
