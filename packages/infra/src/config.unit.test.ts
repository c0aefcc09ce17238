import { describe, expect, it } from 'vitest';
import { infraEnv } from './config.js';

describe('infra environment', () => {
  it('takes Java from JAVA_HOME, else PATH', () => {
    expect(infraEnv({ JAVA_HOME: '/opt/jdk-17/' }).java).toBe('/opt/jdk-17/bin/java');
    expect(infraEnv({}).java).toBe('java');
  });

  it('refuses an idle time that is not a whole number, naming the variable', () => {
    expect(infraEnv({ COMMS_INFRA_IDLE_MS: '500' }).idleMs).toBe(500);
    expect(infraEnv({}).idleMs).toBe(30_000);
    expect(() => infraEnv({ COMMS_INFRA_IDLE_MS: '30s' })).toThrow(
      /COMMS_INFRA_IDLE_MS must be a whole number of milliseconds, got '30s'/,
    );
  });
});
