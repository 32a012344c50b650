import type { QueryResult, QueryResultRow } from 'pg'

/** The one method the invalidation path needs from a pg Pool or Client. */
export interface SqlClient {
  query<R extends QueryResultRow = QueryResultRow>(text: string, values?: unknown[]): Promise<QueryResult<R>>
}

/** Double-quotes an identifier as Postgres' quote_ident does, for DDL that takes no parameters. */
export function quoteIdent(name: string): string {
  return '"' + name.replace(/"/g, '""') + '"'
}

/** The SQLSTATE of a pg error, if it has one. https://www.postgresql.org/docs/current/errcodes-appendix.html */
export function sqlState(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code
  return typeof code === 'string' ? code : undefined
}

/** An identifier as a human would type it: bare when that means the same thing, quoted otherwise. */
export function displayIdent(name: string): string {
  return /^[a-z_][a-z0-9_$]*$/.test(name) ? name : quoteIdent(name)
}

/** `schema.table`, quoted where needed, for DDL and for messages that suggest DDL. */
export function qualifiedName(schema: string, table: string): string {
  return `${displayIdent(schema)}.${displayIdent(table)}`
}
