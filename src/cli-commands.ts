import { parseArgs } from 'node:util'
import pg from 'pg'
import { loadConfigFile } from './config/load-config.js'
import { configError } from './config/describe-problems.js'
import type { CompiledConfig } from './config/types.js'
import { makeLogger } from './logger.js'
import { makeStore } from './store/make-store.js'
import { systemClock } from './clock.js'
import { setupReplication, type SetupReport } from './invalidation/setup-replication.js'
import { describeMissingRuleColumns } from './invalidation/rule-columns.js'
import { EVERYTHING_TAG } from './tags/tag-template.js'
import { ProxyError } from './errors.js'

async function loadOrThrow(file: string): Promise<CompiledConfig> {
  const result = await loadConfigFile(file)
  if (!result.ok) throw configError(result)
  return result.config
}

/** `setup`: checks Postgres, creates the publication then the slot (idempotent), reports replica identities. */
export async function runSetup(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { config: { type: 'string', short: 'c' }, 'recreate-lost-slot': { type: 'boolean' } } })
  if (!values.config) throw new ProxyError('CCP_USAGE', 'setup needs --config FILE')
  const config = await loadOrThrow(values.config)
  if (!config.invalidation) {
    console.log('no invalidation section: nothing to set up (the proxy runs on TTLs alone)')
    return 0
  }
  const sql = new pg.Client({ connectionString: config.invalidation.database })
  await sql.connect()
  try {
    const report = await setupReplication({ sql, slot: config.invalidation.slot, publication: config.invalidation.publication, tables: config.invalidation.tables, recreateLostSlot: values['recreate-lost-slot'] ?? false })
    console.log(`role ${report.role.name}: ${report.role.superuser ? 'superuser' : 'replication'}`)
    console.log(describePublication(report.publication))
    console.log(`slot ${report.slot.name}: ${report.slot.status}${report.slot.confirmedFlushLsn ? ` at ${report.slot.confirmedFlushLsn}` : ''}`)
    for (const table of report.tables) console.log(`table ${table.qualified}: replica identity ${table.replicaIdentity.toUpperCase()} (${table.identityColumns.join(', ') || 'no columns'})`)
    for (const warning of report.warnings) console.log(`warning: ${warning}`)
    for (const finding of report.missingRuleColumns) console.log(`warning: ${describeMissingRuleColumns(finding)}`)
    if (report.continuityBroken) await flushEverything(config, 'the slot was created or recreated')
    return report.slot.status === 'lost' ? 1 : 0
  } finally {
    await sql.end()
  }
}

function describePublication(publication: SetupReport['publication']): string {
  const parts = [publication.created ? 'created' : 'exists']
  if (publication.allTables) parts.push('FOR ALL TABLES')
  if (publication.addedTables.length > 0) parts.push(`added ${publication.addedTables.join(', ')}`)
  if (publication.removedTables.length > 0) parts.push(`removed ${publication.removedTables.join(', ')} (no rule names them)`)
  if (publication.keptTables.length > 0) parts.push(`kept ${publication.keptTables.join(', ')} (no rule names them, but a configured table is missing)`)
  return `publication ${publication.name}: ${parts.join(', ')}`
}

/** `purge`: invalidates tags or a tag pattern in the configured store. */
export async function runPurge(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { config: { type: 'string', short: 'c' }, tag: { type: 'string', multiple: true }, pattern: { type: 'string' } } })
  if (!values.config || (!values.tag?.length && !values.pattern)) throw new ProxyError('CCP_USAGE', 'purge needs --config FILE and --tag TAG (repeatable) or --pattern GLOB')
  const config = await loadOrThrow(values.config)
  if (config.store.kind === 'memory') throw new ProxyError('CCP_USAGE', 'the memory store lives inside the proxy process: purge through the admin API (POST /purge)')
  const store = makeStore(config, systemClock, makeLogger('silent'))
  try {
    await waitForStore(store)
    const deleted = values.pattern ? await store.invalidateTagPattern(values.pattern) : await store.invalidateTags(values.tag ?? [])
    console.log(`purged: ${deleted} tag stamp${deleted === 1 ? '' : 's'} deleted`)
    return 0
  } finally {
    await store.close()
  }
}

async function flushEverything(config: CompiledConfig, why: string): Promise<void> {
  if (config.store.kind === 'memory') return
  const store = makeStore(config, systemClock, makeLogger('silent'))
  try {
    await waitForStore(store)
    await store.invalidateTags([EVERYTHING_TAG])
    console.log(`cache flushed (${why}: changes before it cannot be replayed)`)
  } finally {
    await store.close()
  }
}

async function waitForStore(store: { ping(): Promise<void> }): Promise<void> {
  const deadline = Date.now() + 5000
  for (;;) {
    try { return await store.ping() } catch (err) {
      if (Date.now() > deadline) throw err
      await new Promise((r) => setTimeout(r, 50))
    }
  }
}
