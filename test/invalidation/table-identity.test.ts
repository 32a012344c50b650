import t from 'tap'
import { compileTableRules } from '../../src/invalidation/determine-tags.js'
import { identifyRelation, withRenamedTables, type WatchedTableIdentities } from '../../src/invalidation/table-identity.js'
import { makeRules } from '../helpers/replication.js'

/** Which rules apply to a table the stream describes, by name first, then by the oid setup read. */
const rules = compileTableRules(makeRules({ c: ['c:{client_id}'], a: ['a:{client_id}'] }))
const c = { schema: 'public', table: 'c' }
const renamed = { schema: 'public', table: 'c_renamed' }
const stranger = { schema: 'public', table: 'stranger' }
const known: WatchedTableIdentities = { oids: new Map([[100, c]]), missingTables: [], allTablesPublication: false }

t.test('a configured name is named; a configured oid under another name is that table renamed', async (t) => {
  t.same(identifyRelation(c, 100, known, rules), { kind: 'named' })
  t.match(identifyRelation(renamed, 100, known, rules), { kind: 'renamed', configured: c, rule: { table: 'c' } })
  t.match(withRenamedTables(rules, new Map([['public.c_renamed', c]])).lookup(renamed), { table: 'c' }, 'the renamed name finds the rules')
})

t.test('an unknown table purges everything, unless a FOR ALL TABLES publication sends it and no configured table is missing', async (t) => {
  t.same(identifyRelation(stranger, 7, known, rules), { kind: 'unnamed', action: 'purge-everything', reason: 'unknown-table' })
  t.same(identifyRelation(stranger, 7, { ...known, allTablesPublication: true }, rules), { kind: 'unnamed', action: 'ignore', reason: 'all-tables-publication' })
  t.same(identifyRelation(stranger, 7, { ...known, allTablesPublication: true, missingTables: ['public.a'] }, rules),
    { kind: 'unnamed', action: 'purge-everything', reason: 'unknown-table' }, 'it may be the missing table renamed')
})

t.test('a table the proxy started with, whose rules a reload removed, is ignored', async (t) => {
  const without = compileTableRules(makeRules({ a: ['a:{client_id}'] }))
  t.same(identifyRelation(c, 100, known, without), { kind: 'unnamed', action: 'ignore', reason: 'removed-from-config' })
  t.same(identifyRelation(renamed, 100, known, without), { kind: 'unnamed', action: 'ignore', reason: 'removed-from-config' })
})
