import type { QueryResultRow } from 'pg';
import type { Pool, PoolClient } from './pool.js';

/**
 * One SQL statement put together from parts that different modules own:
 * each part adds its parameters and a named common table expression
 * (`WITH name AS (...)`). A single statement is one implicit transaction
 * and one round trip, so several writes that must commit together need no
 * BEGIN and COMMIT around them. Data-modifying parts run to completion
 * whether or not the final SELECT reads them (PostgreSQL's rule for
 * `WITH ... INSERT`); a part that must write only when another wrote says
 * so with `FROM` or `WHERE EXISTS` on that part's name.
 */
export interface Statement {
  /** Adds a parameter and returns its placeholder (`$3`, or `$3::uuid` with a cast). */
  param(value: unknown, cast?: string): string;
  /** Adds a part; its name must be unused. Returns the name, for later parts to refer to. */
  with(name: string, sql: string): string;
  /** The parts so far, in order. */
  names(): readonly string[];
  /** Runs the statement, ending with `select` (which may read any part by name). */
  run<Row extends QueryResultRow>(db: Pool | PoolClient, select: string): Promise<Row[]>;
}

/** Starts an empty statement. */
export function createStatement(): Statement {
  const values: unknown[] = [];
  const parts: { name: string; sql: string }[] = [];
  return {
    param(value, cast) {
      values.push(value);
      return `$${String(values.length)}${cast === undefined ? '' : `::${cast}`}`;
    },
    with(name, sql) {
      if (!/^[a-z_][a-z0-9_]*$/.test(name))
        throw new Error(
          `a statement part's name must be a lowercase SQL identifier, got '${name}'`,
        );
      if (parts.some((part) => part.name === name))
        throw new Error(`the statement already has a part named '${name}'`);
      parts.push({ name, sql });
      return name;
    },
    names: () => parts.map((part) => part.name),
    async run<Row extends QueryResultRow>(db: Pool | PoolClient, select: string): Promise<Row[]> {
      const text =
        parts.length === 0
          ? select
          : `WITH ${parts.map((part) => `${part.name} AS (${part.sql})`).join(',\n')}\n${select}`;
      const result = await db.query<Row>(text, values);
      return result.rows;
    },
  };
}
