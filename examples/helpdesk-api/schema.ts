import { readFile } from 'node:fs/promises'
import type pg from 'pg'
import { requireUp } from './find-up.js'

/** Creates the helpdesk tables if they are missing. Safe to run on every start. */
export async function applyHelpdeskSchema(db: pg.Pool | pg.Client): Promise<void> {
  const sql = await readFile(requireUp(import.meta.url, 'examples/helpdesk-api/schema.sql'), 'utf8')
  // Concurrent starts (two API replicas, or the demo and a test) would race on CREATE TABLE
  // IF NOT EXISTS, which is not atomic; a transaction-scoped advisory lock serialises them.
  // Several statements in one simple query run as one implicit transaction, rolled back as a
  // whole on error, so a pooled connection is never left inside a failed transaction
  // (https://www.postgresql.org/docs/15/protocol-flow.html#PROTOCOL-FLOW-MULTI-STATEMENT).
  await db.query(`SELECT pg_advisory_xact_lock(hashtext('helpdesk-api:schema'));\n${sql}`)
}
