/**
 * Lua scripts run atomically by Redis (https://redis.io/docs/latest/develop/interactive/programmability/eval-intro/).
 * Keeping the compare and the write in one script is what closes the stale-set race.
 */

/**
 * The end of a fill, shared by END_FILL and WRITE_IF_UNCHANGED (Lua expressions as arguments):
 * releases the lock if `token` still holds it, and publishes `message` on `channel` only if
 * another fetch marked the lock awaited (a `+` after the token; see ACQUIRE_STAMPS).
 */
function endFillLua(lock: string, token: string, channel: string, message: string): string {
  return `local holder = redis.call('GET', ${lock})
if holder == ${token} or holder == ${token} .. '+' then
  redis.call('DEL', ${lock})
  if holder ~= ${token} then redis.call('PUBLISH', ${channel}, ${message}) end
end`
}

/**
 * KEYS[1..n]: stamp keys, then optionally a lock key. ARGV[1]: stamp ttl ms; ARGV[2]: the number
 * of stamp keys n; ARGV[2+i]: a fresh random candidate for KEYS[i]; then, with a lock key,
 * the lock token and its ttl ms. Returns the stamps and, last, 1 if the lock was taken. A lock
 * held by another fetch is marked awaited (a `+` after its token): only the end of an awaited
 * fill is published (END_FILL, WRITE_IF_UNCHANGED). Both run in Redis one after the other, so
 * either the mark comes first and the end publishes, or the end comes first and this call
 * finds the lock free and takes it.
 */
export const ACQUIRE_STAMPS = `
local out = {}
local n = tonumber(ARGV[2])
for i = 1, n do
  local key = KEYS[i]
  local stamp = redis.call('GET', key)
  if not stamp then
    stamp = ARGV[i + 2]
    redis.call('SET', key, stamp, 'PX', ARGV[1])
  else
    redis.call('PEXPIRE', key, ARGV[1])
  end
  out[i] = stamp
end
if #KEYS > n then
  local lock = KEYS[n + 1]
  if redis.call('SET', lock, ARGV[n + 3], 'PX', ARGV[n + 4], 'NX') then
    out[n + 1] = '1'
  else
    local holder = redis.call('GET', lock)
    if holder and string.sub(holder, -1) ~= '+' then redis.call('SET', lock, holder .. '+', 'KEEPTTL') end
    out[n + 1] = '0'
  end
else
  out[n + 1] = '0'
end
return out`

/**
 * KEYS[1]: entry key, KEYS[2..n+1]: its n stamp keys, KEYS[n+2]: the lock key of the fill it
 * ends (when ARGV[4] is not ''). ARGV[1]: ttl ms; ARGV[2]: value; ARGV[3]: n; ARGV[4]: this
 * process's lock token, or '' for a write that ends no fill; ARGV[5], ARGV[6]: the fill
 * channel and message; ARGV[6+i]: the expected stamp of KEYS[1+i]. Writes only if every stamp
 * is unchanged; then, written or not, ends the fill as END_FILL does. Returns 1 if written.
 */
export const WRITE_IF_UNCHANGED = `
local n = tonumber(ARGV[3])
local written = 1
for i = 1, n do
  if redis.call('GET', KEYS[1 + i]) ~= ARGV[6 + i] then
    written = 0
    break
  end
end
if written == 1 then redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[1]) end
if ARGV[4] ~= '' then
${endFillLua('KEYS[n + 2]', 'ARGV[4]', 'ARGV[5]', 'ARGV[6]')}
end
return written`

/**
 * KEYS[1]: watermark key, KEYS[2]: the stamp of the everything tag. ARGV[1]: ms, ARGV[2]: the
 * run_id of this Redis process. The watermark is `ms:run_id` and never moves backwards within
 * one run. A watermark of another run means this Redis came back from a snapshot (or a
 * promoted replica) that may have lost acknowledged stamp deletions: everything is flushed
 * before the new run's first watermark makes the cache usable again. Returns 1 on a flush.
 */
export const ADVANCE_WATERMARK = `
local current = redis.call('GET', KEYS[1])
local ms, run = nil, nil
if current then ms, run = string.match(current, '^(%d+):(.+)$') end
if current and run ~= ARGV[2] then
  redis.call('DEL', KEYS[2])
  redis.call('SET', KEYS[1], ARGV[1] .. ':' .. ARGV[2])
  return 1
end
if not current or tonumber(ARGV[1]) > tonumber(ms) then redis.call('SET', KEYS[1], ARGV[1] .. ':' .. ARGV[2]) end
return 0`

/**
 * KEYS[1]: lock key. ARGV[1]: the holder's token; ARGV[2], ARGV[3]: the fill channel and
 * message. Releases only a lock this holder still has and, if another fetch waited on it
 * (ACQUIRE_STAMPS marked it), publishes the fill.
 */
export const END_FILL = `
${endFillLua('KEYS[1]', 'ARGV[1]', 'ARGV[2]', 'ARGV[3]')}
return 0`

/**
 * Redis Cluster: KEYS[1]: one master's watermark key. ARGV[1]: ms, ARGV[2]: that master's
 * run_id. Sets `ms:run_id` unless the same run already has a newer one (never backwards).
 * The caller flushes the master's slots first when the stored run_id differs.
 */
export const ADVANCE_NODE_WATERMARK = `
local current = redis.call('GET', KEYS[1])
if current then
  local ms, run = string.match(current, '^(%d+):(.+)$')
  if run == ARGV[2] and tonumber(ms) >= tonumber(ARGV[1]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1] .. ':' .. ARGV[2])
return 1`
