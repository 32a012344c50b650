import t from 'tap'
import { compareLsn, formatLsn, INVALID_LSN, maxLsn, parseLsn, parseNullableLsn } from '../../src/invalidation/lsn.js'
import { libraryAckArgument } from '../../src/invalidation/replication-ack.js'

t.test('parses Postgres spelling and the library padded spelling to the same number', async (t) => {
  t.equal(parseLsn('16/B374D848'), 0x16_B374D848n)
  t.equal(parseLsn('00000016/B374D848'), 0x16_B374D848n)
  t.equal(parseLsn('16/b374d848'), 0x16_B374D848n)
  t.equal(parseLsn('0/0'), INVALID_LSN)
  t.equal(parseLsn('FFFFFFFF/FFFFFFFF'), (1n << 64n) - 1n)
})

t.test('formats like Postgres: upper case, no padding', async (t) => {
  t.equal(formatLsn(0x16_B374D848n), '16/B374D848')
  t.equal(formatLsn(0n), '0/0')
  t.equal(formatLsn(0x1_00000000n), '1/0')
  t.equal(formatLsn(parseLsn('00000000/021AAC48')), '0/21AAC48')
  t.throws(() => formatLsn(-1n), RangeError)
  t.throws(() => formatLsn(1n << 64n), RangeError)
})

t.test('compares as 64-bit numbers where string order is wrong', async (t) => {
  // As strings "9/0" > "10/0" and "0/FFFFFFFF" > "1/0"; as positions they are not.
  t.equal(compareLsn(parseLsn('9/0'), parseLsn('10/0')), -1)
  t.equal(compareLsn(parseLsn('0/FFFFFFFF'), parseLsn('1/0')), -1)
  t.equal(compareLsn(parseLsn('0/A'), parseLsn('00000000/0000000A')), 0)
  t.equal(compareLsn(parseLsn('2/0'), parseLsn('1/FFFFFFFF')), 1)
  t.equal(maxLsn(parseLsn('1/0'), parseLsn('0/FFFFFFFF')), parseLsn('1/0'))
})

t.test('rejects what is not a position', async (t) => {
  for (const text of ['', '16', '16/', '/1', 'G/0', '123456789/0', '1/2/3', ' 1/2']) {
    t.throws(() => parseLsn(text), { code: 'CCP_REPLICATION_STREAM' }, JSON.stringify(text))
  }
})

t.test('null from the library means 0/0', async (t) => {
  t.equal(parseNullableLsn(null), INVALID_LSN)
  t.equal(parseNullableLsn(undefined), INVALID_LSN)
})

t.test('the acknowledge argument is one below the position, across the 32-bit boundary', async (t) => {
  t.equal(libraryAckArgument(parseLsn('0/21AAC78')), '0/21AAC77')
  t.equal(libraryAckArgument(parseLsn('1/0')), '0/FFFFFFFF')
  t.throws(() => libraryAckArgument(INVALID_LSN), RangeError)
})
