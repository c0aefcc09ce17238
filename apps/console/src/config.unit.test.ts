import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';

describe('console configuration', () => {
  it('listens on loopback port 8080 and finds the services through packages/endpoints', () => {
    expect(loadConfig({})).toMatchObject({
      HOST: '127.0.0.1',
      PORT: 8080,
      orderServiceHttp: 'http://127.0.0.1:8082',
      orderServiceGrpc: '127.0.0.1:50052',
      notificationServiceHttp: 'http://127.0.0.1:8083',
      endpointsMode: 'local',
    });
    expect(loadConfig({ ENDPOINTS_MODE: 'compose' }).orderServiceGrpc).toBe('order-service:50052');
    // No issuer: no tokens. Given one, its URL as the issuer names itself (no trailing slash).
    expect(loadConfig({}).AUTH_ISSUER_URL).toBeUndefined();
    expect(loadConfig({ AUTH_ISSUER_URL: 'http://127.0.0.1:8084/' }).AUTH_ISSUER_URL).toBe(
      'http://127.0.0.1:8084',
    );
  });

  it('names the variable and the expected format when one is wrong', () => {
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(/PORT .*HTTP port.*got 'eighty'/);
    expect(() => loadConfig({ JAEGER_UI_URL: 'jaeger:16686' })).toThrow(/JAEGER_UI_URL .*http/);
    expect(() => loadConfig({ CONSOLE_FAULTS_URL: 'http://127.0.0.1:9999' })).toThrow(
      'CONSOLE_FAULTS_URL and CONSOLE_FAULTS_TOKEN are set together or not at all',
    );
    expect(() => loadConfig({ CONSOLE_FAULTS_URL: 'http://10.0.0.1:9999' })).toThrow(
      /CONSOLE_FAULTS_URL .*loopback/,
    );
    expect(() => loadConfig({ AUTH_ISSUER_URL: '127.0.0.1:8084' })).toThrow(
      /AUTH_ISSUER_URL .*token issuer/,
    );
    expect(() => loadConfig({ ORDER_SERVICE_GRPC_ADDR: 'http://x' })).toThrow(
      "ORDER_SERVICE_GRPC_ADDR must be host:port, got 'http://x'",
    );
  });
});
