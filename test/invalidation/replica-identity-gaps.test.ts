import t from 'tap'
import {
  describeGap, findIdentityGaps, hasUsableIdentity, identityColumns, type TableCatalog,
} from '../../src/invalidation/replica-identity.js'
import { makeRules } from '../helpers/replication.js'

const [rule] = makeRules({ y_helpdesk_ticket: ['tickets:{client_id}:{assigned_to_id}', 'ticket:{id}'] })
if (rule === undefined) throw new Error('no rule')
const columns = ['id', 'client_id', 'assigned_to_id', 'title']
const catalog = (over: Partial<TableCatalog>): TableCatalog =>
  ({ relkind: 'r', replicaIdentity: 'default', columns, primaryKey: ['id'], identityIndex: [], ...over })

t.test('DEFAULT carries the primary key: templates needing other columns have a gap', async (t) => {
  t.same(identityColumns(catalog({})), ['id'])
  t.same(findIdentityGaps(rule, catalog({})), [{ template: 'tickets:{client_id}:{assigned_to_id}', columns: ['client_id', 'assigned_to_id'] }])
})

t.test('FULL carries every column: no gap', async (t) => {
  t.same(findIdentityGaps(rule, catalog({ replicaIdentity: 'full' })), [])
})

t.test('USING INDEX carries that index', async (t) => {
  const gaps = findIdentityGaps(rule, catalog({ replicaIdentity: 'index', identityIndex: ['client_id', 'id'] }))
  t.same(gaps, [{ template: 'tickets:{client_id}:{assigned_to_id}', columns: ['assigned_to_id'] }], 'ticket:{id} is covered by the index')
})

t.test('NOTHING, or DEFAULT without a primary key, is not usable', async (t) => {
  t.notOk(hasUsableIdentity(catalog({ replicaIdentity: 'nothing' })))
  t.notOk(hasUsableIdentity(catalog({ primaryKey: [] })))
  t.ok(hasUsableIdentity(catalog({ primaryKey: [], replicaIdentity: 'full' })))
})

t.test('a column the table lacks is no identity gap: no replica identity could carry it', async (t) => {
  const [bad] = makeRules({ t: ['x:{client_id}:{no_such_column}'] })
  if (bad === undefined) throw new Error('no rule')
  t.same(findIdentityGaps(bad, catalog({})), [{ template: 'x:{client_id}:{no_such_column}', columns: ['client_id'] }])
  t.same(findIdentityGaps(bad, catalog({ replicaIdentity: 'full' })), [], 'FULL: nothing to advise, the missing column is rule-columns\' finding')
})

t.test('the warning names the rule, the missing columns and the fix', async (t) => {
  const [gap] = findIdentityGaps(rule, catalog({}))
  if (gap === undefined) throw new Error('no gap')
  const text = describeGap('public.y_helpdesk_ticket', catalog({}), gap)
  t.match(text, 'rule "tickets:{client_id}:{assigned_to_id}" needs client_id, assigned_to_id')
  t.match(text, 'REPLICA IDENTITY DEFAULT carries only id')
  t.match(text, 'ALTER TABLE public.y_helpdesk_ticket REPLICA IDENTITY FULL;')
})
