/**
 * Lua scripts run atomically by Redis (https://redis.io/docs/latest/develop/interactive/programmability/eval-intro/).
 * Keeping the compare and the write in one script is what closes the stale-set race.
 */

/** KEYS: stamp keys. ARGV[1]: stamp ttl ms; ARGV[1+i]: a fresh random candidate for KEYS[i]. */
export const ACQUIRE_STAMPS = `
local out = {}
for i, key in ipairs(KEYS) do
  local stamp = redis.call('GET', key)
  if not stamp then
    stamp = ARGV[i + 1]
    redis.call('SET', key, stamp, 'PX', ARGV[1])
  else
    redis.call('PEXPIRE', key, ARGV[1])
  end
  out[i] = stamp
end
return out`

/** KEYS[1]: entry key, KEYS[2..]: stamp keys. ARGV[1]: ttl ms, ARGV[2]: value, ARGV[2+i]: expected stamp of KEYS[1+i]. */
export const WRITE_IF_UNCHANGED = `
for i = 2, #KEYS do
  if redis.call('GET', KEYS[i]) ~= ARGV[i + 1] then return 0 end
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[1])
return 1`

/** KEYS[1]: watermark key. ARGV[1]: ms. The watermark never moves backwards. */
export const ADVANCE_WATERMARK = `
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > current then redis.call('SET', KEYS[1], ARGV[1]) end
return 1`

/** KEYS[1]: lock key. ARGV[1]: the holder's token. Releases only a lock this holder still has. */
export const RELEASE_LOCK = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`
