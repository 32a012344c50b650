import t from 'tap'
import { jitter, makeBackoff } from '../../src/invalidation/backoff.js'

t.test('doubles up to the cap, with half of each window random', async (t) => {
  const low = makeBackoff({ baseMs: 100, maxMs: 1000, random: () => 0 })
  t.same([1, 2, 3, 4, 5, 6].map(() => low.next()), [50, 100, 200, 400, 500, 500])
  const high = makeBackoff({ baseMs: 100, maxMs: 1000, random: () => 1 })
  t.same([1, 2, 3, 4, 5].map(() => high.next()), [100, 200, 400, 800, 1000])
})

t.test('reset starts over', async (t) => {
  const backoff = makeBackoff({ baseMs: 100, maxMs: 1000, random: () => 0 })
  backoff.next(); backoff.next(); backoff.next()
  backoff.reset()
  t.equal(backoff.next(), 50)
})

t.test('jitter stays within a quarter either side', async (t) => {
  t.equal(jitter(1000, () => 0), 750)
  t.equal(jitter(1000, () => 1), 1250)
})
