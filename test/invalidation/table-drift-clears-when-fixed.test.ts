import t from 'tap'
import { compileTableRules } from '../../src/invalidation/determine-tags.js'
import { makeTableDrift } from '../../src/invalidation/table-drift.js'
import { identifyRelation, type WatchedTableIdentities } from '../../src/invalidation/table-identity.js'
import { makeRules } from '../helpers/replication.js'

/**
 * A drift finding lasts while the config and the database disagree, and no longer: the next
 * description of the same table (same oid) under a name the config names clears it, whatever
 * name the finding was made under. Seen in front of a real Django app: a table renamed and
 * then renamed back (or named by a fixed config) kept its "renamed" alert until a restart.
 */
const c = { schema: 'public', table: 'c' }
const c2 = { schema: 'public', table: 'c2' }
const start: WatchedTableIdentities = { oids: new Map([[100, c]]), missingTables: [], allTablesPublication: false }

t.test('a table renamed, then renamed back: the renamed finding goes', async (t) => {
  const rules = compileTableRules(makeRules({ c: ['c:{client_id}'] }))
  const drift = makeTableDrift()
  drift.learnRelation(c2, 100, identifyRelation(c2, 100, start, rules), 1)
  t.match(drift.current(), [{ kind: 'renamed', table: 'public.c', renamedTo: 'public.c2' }])
  const changes = drift.learnRelation(c, 100, identifyRelation(c, 100, start, rules), 2)
  t.match(changes, [{ kind: 'resolved', drift: { kind: 'renamed' } }])
  t.same(drift.current(), [])
})

t.test('a renamed table named by a fixed config: the renamed finding goes', async (t) => {
  const drift = makeTableDrift()
  drift.learnRelation(c2, 100, identifyRelation(c2, 100, start, compileTableRules(makeRules({ c: ['c:{client_id}'] }))), 1)
  drift.learnRelation(c2, 100, identifyRelation(c2, 100, start, compileTableRules(makeRules({ c2: ['c:{client_id}'] }))), 2)
  t.same(drift.current(), [])
})

t.test('a table missing at start, then described under its configured name: the missing finding goes', async (t) => {
  const missingAtStart: WatchedTableIdentities = { oids: new Map(), missingTables: ['public.c'], allTablesPublication: false }
  const rules = compileTableRules(makeRules({ c: ['c:{client_id}'] }))
  const drift = makeTableDrift()
  drift.learnMissing(missingAtStart.missingTables, 1)
  t.match(drift.current(), [{ kind: 'missing', table: 'public.c' }])
  drift.learnRelation(c, 200, identifyRelation(c, 200, missingAtStart, rules), 2)
  t.same(drift.current(), [])
})

t.test('an unknown table that the config then names: the unknown finding goes', async (t) => {
  const drift = makeTableDrift()
  drift.learnRelation(c2, 300, identifyRelation(c2, 300, start, compileTableRules(makeRules({ c: ['c:{client_id}'] }))), 1)
  t.match(drift.current(), [{ kind: 'unknown', table: 'public.c2' }])
  drift.learnRelation(c2, 300, identifyRelation(c2, 300, start, compileTableRules(makeRules({ c: ['c:{client_id}'], c2: ['x:{client_id}'] }))), 2)
  t.same(drift.current(), [])
})
