import t from 'tap'
import { makeStamp } from '../../src/store/stamp.js'

t.test('stamps are 64 random bits each, never repeated across the blocks they are drawn from', async (t) => {
  const stamps = Array.from({ length: 5000 }, () => makeStamp()) // about ten 4 KiB blocks
  t.equal(new Set(stamps).size, stamps.length, 'all distinct')
  t.ok(stamps.every((s) => /^[A-Za-z0-9_-]{11}$/.test(s)), '8 bytes, base64url')
  const bytes = Buffer.concat(stamps.map((s) => Buffer.from(s, 'base64url')))
  const ones = [...bytes].reduce((sum, byte) => sum + byte.toString(2).replaceAll('0', '').length, 0)
  t.ok(Math.abs(ones / (bytes.length * 8) - 0.5) < 0.01, 'half the bits set, as random bytes have')
})
