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
 * The taking of a fill's stamps and lock, shared by ACQUIRE_STAMPS and READ_OR_ACQUIRE (a Lua
 * function). For i in 1..n: the stamp at keys[k + i] (known[k + i] when the caller has just
 * read it) is kept (its ttl renewed) or, if missing, set to candidates[c + i]; it goes to
 * out[o + i]. Then out[o + n + 1] is '1' if `lock` (nil
 * for none) was taken for `token`, else '0'. A lock held by another fetch is marked awaited (a
 * `+` after its token): only the end of an awaited fill is published (END_FILL,
 * WRITE_IF_UNCHANGED). Both run in Redis one after the other, so either the mark comes first
 * and the end publishes, or the end comes first and this call finds the lock free and takes it.
 */
const ACQUIRE_FUNCTION = `
local function acquire(out, o, keys, k, n, candidates, c, ttl, lock, token, lockTtl, known)
  for i = 1, n do
    local stamp = (known and known[k + i]) or redis.call('GET', keys[k + i])
    if not stamp then
      stamp = candidates[c + i]
      redis.call('SET', keys[k + i], stamp, 'PX', ttl)
    else
      redis.call('PEXPIRE', keys[k + i], ttl)
    end
    out[o + i] = stamp
  end
  out[o + n + 1] = '0'
  if lock then
    if redis.call('SET', lock, token, 'PX', lockTtl, 'NX') then
      out[o + n + 1] = '1'
    else
      local holder = redis.call('GET', lock)
      if holder and string.sub(holder, -1) ~= '+' then redis.call('SET', lock, holder .. '+', 'KEEPTTL') end
    end
  end
  return out
end`

/**
 * KEYS[1..n]: stamp keys, then optionally a lock key. ARGV[1]: stamp ttl ms; ARGV[2]: the number
 * of stamp keys n; ARGV[2+i]: a fresh random candidate for KEYS[i]; then, with a lock key,
 * the lock token and its ttl ms. Returns the stamps and, last, '1' if the lock was taken
 * (see ACQUIRE_FUNCTION for the mark on a lock held by another fetch).
 */
export const ACQUIRE_STAMPS = `${ACQUIRE_FUNCTION}
local n = tonumber(ARGV[2])
local lock = nil
if #KEYS > n then lock = KEYS[n + 1] end
return acquire({}, 0, KEYS, 0, n, ARGV, 2, ARGV[1], lock, ARGV[n + 3], ARGV[n + 4])`

/**
 * A lookup that, when it is certainly a miss (the entry or a stamp missing), also does what
 * ACQUIRE_STAMPS does: one round trip instead of two. Used only for routes whose lookups
 * mostly miss (cache-hooks.ts): a hit costs Redis several times more this way than as an MGET.
 * KEYS[1]: the entry; KEYS[2..n+1]: its n stamps; then, if ARGV[2] is '1', a watermark key to
 * read; then, if ARGV[4] is '2', the lock key. ARGV[1]: n; ARGV[3]: stamp ttl ms; ARGV[4]: '1'
 * the stamps, '2' the stamps and the lock; ARGV[5], ARGV[6]: the lock token and ttl ms;
 * ARGV[6+i]: a fresh random candidate for stamp i. Returns the entry, the n stamps and the
 * watermark (false where missing); on a certain miss, then the n acquired stamps and '1' if
 * the lock was taken, else '0'.
 */
export const READ_OR_ACQUIRE = `${ACQUIRE_FUNCTION}
local n = tonumber(ARGV[1])
local out = { redis.call('GET', KEYS[1]) }
local complete = out[1] ~= false
for i = 1, n do
  out[1 + i] = redis.call('GET', KEYS[1 + i])
  if not out[1 + i] then complete = false end
end
local k = n + 2
out[n + 2] = false
if ARGV[2] == '1' then
  out[n + 2] = redis.call('GET', KEYS[k])
  k = k + 1
end
if complete then return out end
local lock = nil
if ARGV[4] == '2' then lock = KEYS[k] end
return acquire(out, n + 2, KEYS, 1, n, ARGV, 6, ARGV[3], lock, ARGV[5], ARGV[6], out)`

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
