import { execFile } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CreateOrderRequest,
  descriptorSetBase64,
  GRPC_SERVICE_NAMES,
  OrderServiceService,
  UserServiceService,
} from './grpc.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const PROTO = join(ROOT, 'proto');
const BASELINE = join(PROTO, 'baseline.binpb');
const BUF = join(ROOT, 'node_modules', '.bin', 'buf');

async function breaking(protoDir: string): Promise<{ ok: boolean; output: string }> {
  try {
    const { stdout, stderr } = await run(BUF, ['breaking', protoDir, '--against', BASELINE]);
    return { ok: true, output: stdout + stderr };
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
    return { ok: false, output: stdout + stderr };
  }
}

describe('the proto module against its published baseline', () => {
  let scratch: string;
  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'proto-breaking-'));
  });
  afterAll(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  it('has no wire- or JSON-incompatible change', async () => {
    const result = await breaking(PROTO);
    expect(result.output).toBe('');
    expect(result.ok).toBe(true);
  });

  it('would fail the tests if a field changed its type', async () => {
    const copy = join(scratch, 'changed-type');
    await cp(PROTO, copy, { recursive: true });
    const file = join(copy, 'user/v1/user.proto');
    const text = await readFile(file, 'utf8');
    await writeFile(file, text.replace('bool valid = 1;', 'string valid = 1;'));
    const result = await breaking(copy);
    expect(result.ok).toBe(false);
    expect(result.output).toMatch(/valid/);
  });

  it('would fail the tests if a field number was reused', async () => {
    const copy = join(scratch, 'renumbered');
    await cp(PROTO, copy, { recursive: true });
    const file = join(copy, 'order/v1/order.proto');
    const text = await readFile(file, 'utf8');
    await writeFile(file, text.replace('string total_amount = 4;', 'string total_amount = 6;'));
    const result = await breaking(copy);
    expect(result.ok).toBe(false);
    expect(result.output).toMatch(/total_amount|4/);
  });
});

describe('generated code', () => {
  it('serves the RPCs of the contract under their full names', () => {
    expect(Object.values(UserServiceService).map((m) => m.path)).toEqual(
      expect.arrayContaining([
        '/user.v1.UserService/GetUser',
        '/user.v1.UserService/ValidateUser',
        '/user.v1.UserService/CreateUser',
      ]),
    );
    expect(Object.values(OrderServiceService).map((m) => m.path)).toEqual([
      '/order.v1.OrderService/CreateOrder',
      '/order.v1.OrderService/GetOrder',
    ]);
    expect(GRPC_SERVICE_NAMES).toEqual({
      user: 'user.v1.UserService',
      order: 'order.v1.OrderService',
    });
  });

  it('round-trips money as exact decimal strings', () => {
    const request = {
      userId: 'u',
      items: [{ productId: 'p', quantity: 3, price: '0.10' }],
      idempotencyKey: '',
    };
    const decoded = CreateOrderRequest.decode(CreateOrderRequest.encode(request).finish());
    expect(decoded).toEqual(request);
  });

  it('embeds a descriptor set that names both services, for server reflection', () => {
    const bytes = Buffer.from(descriptorSetBase64, 'base64').toString('latin1');
    expect(bytes).toContain('user/v1/user.proto');
    expect(bytes).toContain('order/v1/order.proto');
    expect(bytes).toContain('google/protobuf/timestamp.proto');
  });
});
