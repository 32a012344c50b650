import t from 'tap'
import { makeMissRates } from '../../src/proxy/miss-rates.js'

t.test('a route counts as mostly missing until its recent lookups mostly hit, and again once they mostly miss', async (t) => {
  const rates = makeMissRates()
  t.ok(rates.mostlyMisses('tickets'), 'a route never looked up: an empty cache misses')
  for (let i = 0; i < 10; i++) rates.record('tickets', false)
  t.ok(rates.mostlyMisses('tickets'), 'ten hits are not yet most of the last sixteen lookups')
  for (let i = 0; i < 20; i++) rates.record('tickets', false)
  t.notOk(rates.mostlyMisses('tickets'), 'thirty hits in a row are')
  t.ok(rates.mostlyMisses('people'), 'each route has its own rate')
  for (let i = 0; i < 5; i++) rates.record('tickets', true)
  t.notOk(rates.mostlyMisses('tickets'), 'a few misses do not tip a route that mostly hits')
  for (let i = 0; i < 20; i++) rates.record('tickets', true)
  t.ok(rates.mostlyMisses('tickets'), 'twenty misses in a row do')
})
