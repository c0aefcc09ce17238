import { describe, expect, it } from 'vitest';
import { loadReliabilityConfig } from './config.js';

describe('loadReliabilityConfig', () => {
  it('picks the short profile by default and the long one when asked', () => {
    expect(loadReliabilityConfig({}).profile.name).toBe('short');
    expect(loadReliabilityConfig({ RELIABILITY_PROFILE: 'long' }).profile).toMatchObject({
      name: 'long',
      outageSeconds: 20,
    });
  });

  it('names the variable and the values it takes for anything else', () => {
    expect(() => loadReliabilityConfig({ RELIABILITY_PROFILE: 'longer' })).toThrow(
      "RELIABILITY_PROFILE must be short or long; got 'longer'",
    );
  });

  it('runs the fuzzer tools with the environment it was given, colours off', () => {
    const { toolEnv } = loadReliabilityConfig({ PATH: '/opt/py/bin' });
    expect(toolEnv).toEqual({ PATH: '/opt/py/bin', NO_COLOR: '1' });
  });
});
