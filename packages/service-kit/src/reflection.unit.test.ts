import { Server } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { addReflection } from './reflection.js';

describe('server reflection', () => {
  it('refuses at startup to list a service it cannot describe', () => {
    expect(() =>
      addReflection(new Server(), { descriptorSets: [], services: ['shop.v1.ShopService'] }),
    ).toThrow(/reflection cannot describe shop\.v1\.ShopService/);
  });

  it('describes health and reflection itself with no descriptors of the caller', () => {
    expect(() =>
      addReflection(new Server(), { descriptorSets: [], services: ['grpc.health.v1.Health'] }),
    ).not.toThrow();
  });
});
