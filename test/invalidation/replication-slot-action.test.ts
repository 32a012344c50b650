import t from 'tap'
import { determineSlotAction, type SlotRow } from '../../src/invalidation/replication-slot.js'

const healthy: SlotRow = { slot_type: 'logical', plugin: 'pgoutput', database: 'app', active: false, active_pid: null, wal_status: 'reserved', confirmed_flush_lsn: '0/1' }

t.test('a missing slot is created', async (t) => {
  t.same(determineSlotAction(undefined, 'app', false), { kind: 'create' })
})

t.test('a healthy slot is used, whether or not it is active', async (t) => {
  t.same(determineSlotAction(healthy, 'app', true), { kind: 'use' })
  t.same(determineSlotAction({ ...healthy, active: true, wal_status: 'extended' }, 'app', true), { kind: 'use' })
})

t.test("a lost slot (wal_status = 'lost') is reported, or recreated when asked", async (t) => {
  const lost = { ...healthy, wal_status: 'lost' }
  t.same(determineSlotAction(lost, 'app', false), { kind: 'report-lost' })
  t.same(determineSlotAction(lost, 'app', true), { kind: 'recreate' })
})

t.test('a slot of another kind, plugin or database is refused, never dropped', async (t) => {
  t.equal(determineSlotAction({ ...healthy, slot_type: 'physical', plugin: null, database: null }, 'app', true).kind, 'refuse')
  t.equal(determineSlotAction({ ...healthy, plugin: 'wal2json' }, 'app', true).kind, 'refuse')
  t.match(determineSlotAction(healthy, 'other', true), { kind: 'refuse', reason: /belongs to database "app"/ })
})
