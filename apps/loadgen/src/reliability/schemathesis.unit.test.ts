import { describe, expect, it } from 'vitest';
import { onlyUnauthorized } from './schemathesis.js';

describe('onlyUnauthorized', () => {
  const warnings = (...blocks: string[]) =>
    [
      '=================================== WARNINGS ===================================',
      'Authentication failed: 3 operations returned only 401/403 responses',
      ...blocks,
      '💡 Ensure valid authentication credentials are set via `--auth` or `-H`',
    ].join('\n');

  it('names the operations that answered nothing but 401', () => {
    const output = warnings(
      '401 Unauthorized (1 operation):',
      '  - GET /users/{id}',
      '403 Forbidden (2 operations):',
      '  - POST /orders/{id}/rebuild',
      '  - POST /orders/{id}/ship',
    );
    expect(onlyUnauthorized(output)).toEqual(['GET /users/{id}']);
  });

  it('leaves out operations refused with 403 (a user token where the operator role is needed)', () => {
    const output = warnings('403 Forbidden (1 operation):', '  - POST /orders/{id}/ship');
    expect(onlyUnauthorized(output)).toEqual([]);
    expect(onlyUnauthorized('')).toEqual([]);
  });
});
