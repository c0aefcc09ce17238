import { describe, expect, it } from 'vitest';
import { createStatement } from './statement.js';
import type { Pool } from './pool.js';

/** A stand-in that records what would be sent; the SQL itself runs against PostgreSQL in order-service's tests. */
const recorder = () => {
  const sent: { text: string; values: unknown[] }[] = [];
  const db = {
    query: (text: string, values: unknown[]) => {
      sent.push({ text, values });
      return Promise.resolve({ rows: [] });
    },
  } as unknown as Pool;
  return { db, sent };
};

describe('createStatement', () => {
  it('numbers parameters across parts and joins the parts into one WITH', async () => {
    const statement = createStatement();
    const first = statement.with(
      'first',
      `INSERT INTO a (x) VALUES (${statement.param(1)}) RETURNING x`,
    );
    statement.with(
      'second',
      `INSERT INTO b (y) SELECT ${statement.param('u', 'uuid')} FROM ${first}`,
    );
    const { db, sent } = recorder();
    await statement.run(db, 'SELECT x FROM first');
    expect(sent).toEqual([
      {
        text: 'WITH first AS (INSERT INTO a (x) VALUES ($1) RETURNING x),\nsecond AS (INSERT INTO b (y) SELECT $2::uuid FROM first)\nSELECT x FROM first',
        values: [1, 'u'],
      },
    ]);
    expect(statement.names()).toEqual(['first', 'second']);
  });

  it('refuses a part name used twice or that is not an identifier', () => {
    const statement = createStatement();
    statement.with('moved', 'SELECT 1');
    expect(() => statement.with('moved', 'SELECT 2')).toThrow(/already has a part named 'moved'/);
    expect(() => statement.with('x; DROP TABLE y', 'SELECT 2')).toThrow(/lowercase SQL identifier/);
  });
});
