/**
 * The shared state of one bucket, as one Redis hash, and the one Lua script that moves it: each admission and each
 * observed answer is one atomic call. Times are Redis `TIME` (milliseconds), so the workers' clocks do not matter;
 * every write ends with a `PEXPIRE`, so nothing outlives what it learned.
 *
 * Fields: `cd` cooldown until, `ep` epoch (the id of the current window, the Redis time it was opened), `lim` the
 * limit per window, `rem` admissions left in the window, `end` the window's end, `op` when the opener of a window
 * (or of a bucket nobody knows) was admitted, `free` the bucket's opener found no limit, `sp` the window's end was
 * moved to a later server window's (see below), `oe` from when the next window's opener may go, before the window's
 * end: a reset told in whole seconds is late by up to a second, `ta` a told window's end was measured from its first
 * answer (`tm`; `ta`: and, back to back, the next windows follow it), `tr` a request of a told window was refused with
 * a 429 (the next window is measured again), `sl` the limit the server's answers stated.
 *
 * A request admitted near the end of a window may be counted in the server's next one: its answer then says it was
 * the first of its window (one less than the limit left), as only the opener's should. Such an answer is reported,
 * and the window ends no sooner than the reset it told (the end of the server's window it was counted in), so the
 * next opener does not go into that window, spent by the requests that spilled into it, and learn only a full window
 * later that it may send.
 *
 * When an opener's answer opens a window (or frees the bucket, or holds it with a hint), or its opener gives up, the
 * script publishes the bucket's key on the channel its caller names, so the processes holding calls for it ask again
 * at once instead of at their next poll.
 *
 * @internal
 */
export const SOURCE = `
local key = KEYS[1]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local h = redis.call('HMGET', key, 'cd', 'ep', 'rem', 'end', 'op', 'free', 'lim', 'sp', 'oe', 'ta', 'tr', 'sl', 'tm')
local cd = tonumber(h[1]) or 0
local ep = tonumber(h[2]) or 0
local rem = tonumber(h[3])
local wend = tonumber(h[4]) or 0
local op = tonumber(h[5])
local free = h[6]
local known = tonumber(h[7]) or 0
local oe = tonumber(h[9])
local mode = ARGV[1]
local grace = tonumber(ARGV[2])

local function keep(untilAt)
  local ttl = untilAt - now + grace
  if ttl < grace then ttl = grace end
  if redis.call('PTTL', key) < ttl then redis.call('PEXPIRE', key, ttl) end
end

if mode == 'admit' then
  local openerTimeout = tonumber(ARGV[3])
  -- How many admissions this call asks for (a process's waiting calls, asked for together): it gets what is left.
  local n = tonumber(ARGV[5]) or 1
  if n < 1 then n = 1 end
  -- The processes that asked in the last 10 s: what a process may send alone, when Redis fails, is its share.
  local members = KEYS[2]
  redis.call('ZADD', members, now, ARGV[4])
  redis.call('ZREMRANGEBYSCORE', members, '-inf', now - 10000)
  redis.call('PEXPIRE', members, 10000)
  local fleet = redis.call('ZCARD', members)
  if cd > now then return {1, now, cd, ep, 0, known, fleet, 0} end
  if rem ~= nil and now < wend then
    if rem > 0 then
      local take = n
      if take > rem then take = rem end
      redis.call('HINCRBY', key, 'rem', -take)
      -- (What is left of the calls asked for goes at \`oe\` too.)
      return {0, now, wend, ep, 0, known, fleet, take, oe or wend}
    end
    -- Spent: the next window's opener may go from \`oe\` (a reset in whole seconds is late), the others follow its answer.
    if oe ~= nil and now >= oe then
      if op == nil or now - op >= openerTimeout then
        redis.call('HSET', key, 'op', now)
        return {0, now, wend, ep, 1, known, fleet, 1}
      end
      return {3, now, op + openerTimeout, ep, 0, known, fleet, 0}
    end
    return {2, now, wend, ep, 0, known, fleet, 0, oe or wend}
  end
  -- A limit the user told (its quota per window of so many ms): the next window opens with the first admission after
  -- the last one ended, with its whole quota (the limit the server's answers stated, \`sl\`, once they stated one), no
  -- opener's answer to wait for. It ends a window after that admission, until the window's first answer moves the end
  -- to a window after it (\`tm\`: the server's window started no sooner than that request reached it). Back to back:
  -- once a window was so measured (\`ta\`), and none of its requests was refused with a 429 (\`tr\`), the next one
  -- lasts a window from its first admission, with no answer awaited.
  local toldQuota = tonumber(ARGV[6]) or 0
  if toldQuota > 0 then
    local toldWindow = tonumber(ARGV[7])
    local stated = tonumber(h[12]) or 0
    if stated > 0 then toldQuota = stated end
    local take = n
    if take > toldQuota then take = toldQuota end
    if ep + 1 > now then ep = ep + 1 else ep = now end
    local e = now + toldWindow
    redis.call('HSET', key, 'ep', ep, 'rem', toldQuota - take, 'end', e, 'lim', toldQuota)
    redis.call('HDEL', key, 'op', 'free', 'sp', 'oe', 'tr')
    if ARGV[8] == '1' and h[10] == '1' and h[11] == false and rem ~= nil then
      redis.call('HSET', key, 'ta', 1, 'tm', 1)
    else
      redis.call('HDEL', key, 'ta', 'tm')
    end
    keep(e)
    return {0, now, e, ep, 0, toldQuota, fleet, take, e}
  end
  if free ~= false and rem == nil then return {0, now, 0, ep, 0, known, fleet, n} end
  if op == nil or now - op >= openerTimeout then
    redis.call('HSET', key, 'op', now)
    keep(now + openerTimeout)
    return {0, now, 0, ep, 1, known, fleet, 1}
  end
  return {3, now, op + openerTimeout, ep, 0, known, fleet, 0}
end

-- The processes holding calls for a bucket learn at once that it may admit again (an opener's answer came, or the
-- opener gave up): the bucket's key on the channel ARGV[n], when given (the processes still ask again on their own).
local function opened(channel)
  if channel ~= nil and channel ~= '' then redis.call('PUBLISH', channel, key) end
end

if mode == 'release' then
  if op ~= nil and op == tonumber(ARGV[3]) then
    redis.call('HDEL', key, 'op')
    opened(ARGV[4])
  end
  return {0, now, 0, ep, 0, known, 0, 0}
end

-- observe
local hint = tonumber(ARGV[5])
-- A 429/503 hint is an instant the server told: every process waits for it, whichever window the answer came from
-- (or none: a request decided alone while Redis was slow).
if hint >= 0 and now + hint > cd then
  cd = now + hint
  redis.call('HSET', key, 'cd', cd)
  keep(cd)
end
-- A 429 within a told quota (ARGV[15]), of this window or an older one: the server's windows are not where the told
-- ones were put; the next window is measured again from its first answer (\`tr\`, until a told window opens).
local refusedNow = ARGV[15] == '1' and rem ~= nil
if refusedNow then
  redis.call('HSET', key, 'tr', 1)
  redis.call('HDEL', key, 'ta')
end
-- What else an answer from an older window says (its quota, its reset) is dropped.
if tonumber(ARGV[3]) < ep then return {4, now, 0, ep, 0, known, 0, 0} end
-- The first answer of a told window (ARGV[14], the window's length): the window ends a window after it. Once: the
-- first to come is the closest bound.
local anchor = tonumber(ARGV[14]) or 0
if anchor > 0 and tonumber(ARGV[3]) == ep and h[13] ~= '1' and rem ~= nil then
  if now + anchor > wend then
    wend = now + anchor
    redis.call('HSET', key, 'end', wend)
  end
  redis.call('HSET', key, 'tm', 1)
  if h[11] == false and not refusedNow then redis.call('HSET', key, 'ta', 1) end
end
local opener = ARGV[4] == '1'
local r = tonumber(ARGV[6])
local reset = tonumber(ARGV[7])
local lim = tonumber(ARGV[8])
local freeTtl = tonumber(ARGV[9])
-- Not the opener, yet the first of its server window: it was counted in a later one than the opener's.
local spilled = ARGV[11] == '1'
-- How long before the reset the next window's opener may go (see \`oe\`), and whether the server accepted the request.
local lead = tonumber(ARGV[12]) or 0
local accepted = ARGV[13] == '1'
if r >= 0 then
  local e = now + reset
  -- An opener sent before the spent window's told end, and accepted: the next window's first news.
  local early = opener and accepted and op ~= nil and rem ~= nil and now < wend
  if rem == nil or now >= wend or early then
    if ep + 1 > now then ep = ep + 1 else ep = now end
    if lim < 0 then lim = r + 1 end
    redis.call('HSET', key, 'ep', ep, 'rem', r, 'end', e, 'lim', lim, 'oe', e - lead)
    redis.call('HDEL', key, 'op', 'free', 'sp')
    wend = e
    opened(ARGV[10])
  else
    -- Reset instants are upper bounds (rounded up to the second): the earliest told is the closest. The first answer
    -- counted in a later server window moves the end to that window's (the next opener waits for it to end).
    if spilled and h[8] == false then
      wend = e
      redis.call('HSET', key, 'sp', 1)
      if lead > 0 then redis.call('HSET', key, 'oe', e - lead) else redis.call('HDEL', key, 'oe') end
    elseif e < wend then
      wend = e
    end
    if opener and op ~= nil and not accepted then
      -- An opener sent before the told end was refused: the others wait for that end (or the hint), no one earlier.
      redis.call('HDEL', key, 'op', 'oe')
      opened(ARGV[10])
    end
    if r < rem then rem = r end
    redis.call('HSET', key, 'rem', rem, 'end', wend)
    if lim >= 0 then redis.call('HSET', key, 'lim', lim) end
  end
  -- The limit the server stated (not one guessed from its remaining count): a told window's quota from then on.
  if lim >= 0 and tonumber(ARGV[8]) >= 0 then redis.call('HSET', key, 'sl', lim) end
elseif opener and op ~= nil then
  redis.call('HDEL', key, 'op', 'rem', 'end', 'lim')
  opened(ARGV[10])
  if hint < 0 then
    redis.call('HSET', key, 'free', 1)
    keep(now + freeTtl)
    return {0, now, 0, ep, 0, 0, 0, 0}
  end
end
local last = wend
if cd > last then last = cd end
if last > now then redis.call('PEXPIRE', key, last - now + grace) end
return {0, now, wend, ep, 0, known, 0, 0}
`

/** What an admission got: 0 admitted, 1 cooldown, 2 the window's quota spent, 3 an opener's answer awaited. @internal */
export type Status = 0 | 1 | 2 | 3 | 4

/**
 * A script's reply: status, Redis time now, an instant (hold until, or the window's end), epoch (the Redis time the
 * window opened), opener (1), the limit per window (0: none known), the processes that asked in the last 10 s, how
 * many of the admissions asked for were granted (status 0: the first of them, when an opener, alone), and, in a
 * known window, when its next window's opener may go (for the calls not granted: status 2).
 * @internal
 */
export interface Reply {
  readonly status: Status
  readonly now: number
  readonly until: number
  readonly epoch: number
  readonly opener: boolean
  readonly limit: number
  readonly fleet: number
  readonly granted: number
  readonly opens: number
}

/** Reads the script's reply; anything else is `undefined` (treated as Redis failing: local decisions). @internal */
export const decode = (raw: unknown): Reply | undefined => {
  if (!Array.isArray(raw) || (raw.length !== 8 && raw.length !== 9)) return undefined
  const [status, now, until, epoch, opener, limit, fleet, granted, opens = until] = raw.map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number?
  ]
  if (![now, until, epoch, limit, fleet, granted, opens].every(Number.isFinite) || !(status >= 0 && status <= 4)) {
    return undefined
  }
  return { status: status as Status, now, until, epoch, opener: opener === 1, limit, fleet, granted, opens }
}
