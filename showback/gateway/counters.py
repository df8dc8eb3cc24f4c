"""The real-time counters of the authorization endpoint, in Redis, changed only by Lua scripts.

A script runs atomically in Redis, so two authorizations can never both take the last of a cap:
each one checks and reserves in one step. Money is counted in integer micro-units (1e-6 of the
currency), which Lua's numbers hold exactly up to 9 billion.

Keys (all under `gw:`):
    v:<use case>          policy version, bumped on every change of what the policy is built from
    v:global              the same for the model catalog, which every policy reads
    cap:<cap>:<period>    hash {spent, reserved} of one cap in one period (a hard-cap budget, or
                          the agent spend cap), in the cap's currency; missing after a restart and
                          rebuilt from the database (ledger + open reservations written through)
    capz:<cap>:<period>   sorted set of the cap's reservation ids by expiry time
    capa:<cap>:<period>   hash {reservation id: amount} of the same reservations
    res:<use case>:<id>   hash of one reservation: tokens, tool calls, remaining
    run:<use case>:<run>  hash of one run: steps, tool_calls, tokens, started (ms)
    rate:<use case>:<min> calls in one minute
    log                   list of denials waiting to be written to the database
    lastused              hash {gateway key id: ms} waiting to be written to the database
"""

import threading

import redis
from django.conf import settings

MICRO = 1_000_000
LOG_MAX = 100_000  # denials kept in Redis while the database is not catching up
RUN_TTL_MS = 24 * 3600 * 1000

# KEYS: 1 use-case version, 2 global version, 3 rate, 4 log, 5 last used, 6 reservation, 7 run
# (a placeholder when the call names no run), then per cap its counter, its reservation set and its
# reservation amounts.
# ARGV: 1 expected "use case:global" version, 2 now (ms), 3 reason of a policy denial (or ""),
# 4 log entry, 5 gateway key id (or ""), 6 (unused), 7 tokens, 8 tool calls, 9 max steps,
# 10 max tool calls, 11 max tokens, 12 max run ms, 13 calls per minute (-1: no limit),
# 14 reservation ttl ms, 15 reservation id, 16 "1" if the call names a run, 17 log length,
# 18 warn percentage, 19 run ttl ms, 20 number of caps, then per cap its limit and the call's
# estimate in the cap's currency (micro, never negative).
# Returns {stale, versions} | {missing, "i,j"} | {deny, reason, remaining[, index of the cap that
# refused]} | {allow|warn, ""|"already_reserved", remaining, steps, tool calls, tokens, run ms,
# "left of cap 1,left of cap 2,..." (micro, each in its cap's currency)}.
#
# A cap's reservations: capz (sorted set: reservation id by expiry ms) and capa (hash: reservation
# id -> amount), so a usage event releases its reservation by id alone, even after the reservation's
# own hash was lost. Amounts of 0 are never stored nor added: Redis refuses HINCRBY by "-0".
AUTHORIZE = r"""
local ver = (redis.call('GET', KEYS[1]) or '0') .. ':' .. (redis.call('GET', KEYS[2]) or '0')
if ver ~= ARGV[1] then return {'stale', ver} end
local now = tonumber(ARGV[2])
if ARGV[5] ~= '' then redis.call('HSET', KEYS[5], ARGV[5], now) end
local function deny(reason, remaining)
  redis.call('LPUSH', KEYS[4], reason .. '|' .. now .. '|' .. ARGV[4])
  redis.call('LTRIM', KEYS[4], 0, tonumber(ARGV[17]) - 1)
  return {'deny', reason, remaining or -1}
end
if ARGV[3] ~= '' then return deny(ARGV[3]) end

local tokens, tools = tonumber(ARGV[7]), tonumber(ARGV[8])
local ncaps = tonumber(ARGV[20])
local rid = ARGV[15]
local function cap(i) return KEYS[5 + 3 * i] end
local function capz(i) return KEYS[6 + 3 * i] end
local function capa(i) return KEYS[7 + 3 * i] end
local function limit(i) return tonumber(ARGV[19 + 2 * i]) end
local function want(i) return math.max(tonumber(ARGV[20 + 2 * i]), 0) end

local missing = {}
for i = 1, ncaps do
  if redis.call('EXISTS', cap(i)) == 0 then table.insert(missing, i) end
end
if #missing > 0 then return {'missing', table.concat(missing, ',')} end

-- Release the reservations that expired without a usage event to settle them.
for i = 1, ncaps do
  local expired = redis.call('ZRANGEBYSCORE', capz(i), '-inf', now, 'LIMIT', 0, 500)
  for _, id in ipairs(expired) do
    local amount = tonumber(redis.call('HGET', capa(i), id) or '0')
    if amount > 0 then redis.call('HINCRBY', cap(i), 'reserved', 0 - amount) end
    redis.call('ZREM', capz(i), id)
    redis.call('HDEL', capa(i), id)
  end
end

-- What this request already holds on each cap: a retried authorization reserves nothing more,
-- and one with a larger estimate goes through the cap check for the difference only.
local held, grows, retried = {}, false, redis.call('EXISTS', KEYS[6]) == 1
for i = 1, ncaps do
  held[i] = tonumber(redis.call('HGET', capa(i), rid) or '0')
  if want(i) > held[i] then grows = true end
end
if retried and not grows then
  local kept = redis.call('HMGET', KEYS[6], 'remaining', 'left')
  return {'allow', 'already_reserved', tonumber(kept[1] or '-1'), 0, 0, 0, 0, kept[2] or ''}
end

local rate = tonumber(ARGV[13])
if rate >= 0 and not retried then
  local n = redis.call('INCR', KEYS[3])
  if n == 1 then redis.call('PEXPIRE', KEYS[3], 61000) end
  if n > rate then return deny('rate_limited') end
end

local has_run = ARGV[16] == '1' and not retried
local steps, run_tools, run_tokens, started = 0, 0, 0, now
if has_run then
  local run = redis.call('HMGET', KEYS[7], 'steps', 'tool_calls', 'tokens', 'started')
  steps = tonumber(run[1] or '0')
  run_tools = tonumber(run[2] or '0')
  run_tokens = tonumber(run[3] or '0')
  started = tonumber(run[4] or ARGV[2])
  local max_steps, max_tools = tonumber(ARGV[9]), tonumber(ARGV[10])
  local max_tokens, max_ms = tonumber(ARGV[11]), tonumber(ARGV[12])
  if max_steps >= 0 and steps + 1 > max_steps then return deny('run_step_limit') end
  if max_tools >= 0 and run_tools + tools > max_tools then return deny('run_tool_call_limit') end
  if max_tokens >= 0 and run_tokens + tokens > max_tokens then return deny('run_token_limit') end
  if max_ms >= 0 and now - started > max_ms then return deny('run_duration_limit') end
end

-- Every cap must hold what the call adds on top of what is spent and reserved.
local remaining, used_pct, lefts = -1, 0, {}
for i = 1, ncaps do
  local row = redis.call('HMGET', cap(i), 'spent', 'reserved')
  local left = limit(i) - tonumber(row[1] or '0') - tonumber(row[2] or '0')
  local add = math.max(want(i) - held[i], 0)
  if left <= 0 or add > left then
    local result = deny('budget_exhausted', math.max(left, 0))
    result[4] = i
    return result
  end
  local after = left - add
  lefts[i] = string.format('%d', after)
  if remaining < 0 or after < remaining then remaining = after end
  if limit(i) > 0 and (limit(i) - after) * 100 / limit(i) > used_pct then
    used_pct = (limit(i) - after) * 100 / limit(i)
  end
end

local ttl = tonumber(ARGV[14])
for i = 1, ncaps do
  local amount = math.max(want(i), held[i])
  if amount > held[i] then redis.call('HINCRBY', cap(i), 'reserved', amount - held[i]) end
  if amount > 0 then
    redis.call('ZADD', capz(i), now + ttl, rid)
    redis.call('HSET', capa(i), rid, amount)
    local keep = math.max(redis.call('PTTL', cap(i)), ttl)
    redis.call('PEXPIRE', capz(i), keep)
    redis.call('PEXPIRE', capa(i), keep)
  end
end
local left_list = table.concat(lefts, ',')
redis.call('HSET', KEYS[6], 'tokens', tokens, 'tool_calls', tools, 'remaining', remaining, 'left', left_list)
redis.call('PEXPIRE', KEYS[6], ttl + 3600000)
if has_run then
  redis.call('HINCRBY', KEYS[7], 'steps', 1)
  redis.call('HINCRBY', KEYS[7], 'tool_calls', tools)
  redis.call('HINCRBY', KEYS[7], 'tokens', tokens)
  redis.call('HSETNX', KEYS[7], 'started', now)
  redis.call('PEXPIRE', KEYS[7], tonumber(ARGV[19]))
  steps, run_tools, run_tokens = steps + 1, run_tools + tools, run_tokens + tokens
end
local decision = 'allow'
if used_pct >= tonumber(ARGV[18]) then decision = 'warn' end
return {decision, '', remaining, steps, run_tools, run_tokens, now - started, left_list}
"""

# KEYS: reservation, run, then per cap of the use case now its counter, reservation set and
# amounts. ARGV: reservation id, actual tokens, actual tool calls, then per cap the actual cost in
# its currency (micro). Releases the reservation on every cap that still holds it, counts the
# actual cost as spent on every cap that has a counter, and corrects the run's counters.
SETTLE = r"""
local rid = ARGV[1]
local tokens, tools = tonumber(ARGV[2]), tonumber(ARGV[3])
local res = redis.call('HMGET', KEYS[1], 'tokens', 'tool_calls')
if res[1] then
  tokens = tokens - tonumber(res[1] or '0')
  tools = tools - tonumber(res[2] or '0')
  redis.call('DEL', KEYS[1])
  if KEYS[2] ~= '' and redis.call('EXISTS', KEYS[2]) == 1 then
    if tokens ~= 0 then redis.call('HINCRBY', KEYS[2], 'tokens', tokens) end
    if tools ~= 0 then redis.call('HINCRBY', KEYS[2], 'tool_calls', tools) end
  end
end
for i = 3, #KEYS, 3 do
  local amount = tonumber(redis.call('HGET', KEYS[i + 2], rid) or '0')
  redis.call('HDEL', KEYS[i + 2], rid)
  redis.call('ZREM', KEYS[i + 1], rid)
  local cost = tonumber(ARGV[4 + (i - 3) / 3])
  if redis.call('EXISTS', KEYS[i]) == 1 then
    if amount > 0 then redis.call('HINCRBY', KEYS[i], 'reserved', 0 - amount) end
    if cost > 0 then redis.call('HINCRBY', KEYS[i], 'spent', cost) end
  end
end
return 1
"""

# SETTLE for many usage events in one call (a batch of usage events settles in a few commands,
# not one per event). KEYS: per event its reservation, its run (or ""), then per cap its counter,
# reservation set and amounts. ARGV: per event its reservation id, actual tokens, actual tool
# calls, its number of caps n, then n costs (micro, each in its cap's currency).
SETTLE_MANY = r"""
local k, a = 1, 1
while a <= #ARGV do
  local rid = ARGV[a]
  local tokens, tools, n = tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3])
  local res = redis.call('HMGET', KEYS[k], 'tokens', 'tool_calls')
  if res[1] then
    tokens = tokens - tonumber(res[1] or '0')
    tools = tools - tonumber(res[2] or '0')
    redis.call('DEL', KEYS[k])
    if KEYS[k + 1] ~= '' and redis.call('EXISTS', KEYS[k + 1]) == 1 then
      if tokens ~= 0 then redis.call('HINCRBY', KEYS[k + 1], 'tokens', tokens) end
      if tools ~= 0 then redis.call('HINCRBY', KEYS[k + 1], 'tool_calls', tools) end
    end
  end
  for j = 0, n - 1 do
    local counter, set, amounts = KEYS[k + 2 + 3 * j], KEYS[k + 3 + 3 * j], KEYS[k + 4 + 3 * j]
    local amount = tonumber(redis.call('HGET', amounts, rid) or '0')
    redis.call('HDEL', amounts, rid)
    redis.call('ZREM', set, rid)
    local cost = tonumber(ARGV[a + 4 + j])
    if redis.call('EXISTS', counter) == 1 then
      if amount > 0 then redis.call('HINCRBY', counter, 'reserved', 0 - amount) end
      if cost > 0 then redis.call('HINCRBY', counter, 'spent', cost) end
    end
  end
  k = k + 2 + 3 * n
  a = a + 4 + n
end
return 1
"""

# KEYS: cap, its reservation set, its amounts. ARGV: spent (micro), ttl ms, now ms, then per open
# reservation in the database: id, amount (micro), expiry (ms). Creates the counter, with the open
# reservations, if no one else did meanwhile; reservations left from a lost counter are replaced.
SEED = r"""
if redis.call('HSETNX', KEYS[1], 'spent', ARGV[1]) == 1 then
  redis.call('DEL', KEYS[2], KEYS[3])
  local now, reserved = tonumber(ARGV[3]), 0
  for j = 4, #ARGV, 3 do
    local amount, expiry = tonumber(ARGV[j + 1]), tonumber(ARGV[j + 2])
    if amount > 0 and expiry > now then
      redis.call('ZADD', KEYS[2], expiry, ARGV[j])
      redis.call('HSET', KEYS[3], ARGV[j], amount)
      reserved = reserved + amount
    end
  end
  redis.call('HSET', KEYS[1], 'reserved', reserved)
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  if reserved > 0 then
    redis.call('PEXPIRE', KEYS[2], ARGV[2])
    redis.call('PEXPIRE', KEYS[3], ARGV[2])
  end
  return 1
end
return 0
"""

# KEYS: cap, its reservation set, its amounts. ARGV: spent by the ledger (micro), now ms, cutoff
# (ms: reservations expiring before it were made more than a grace period ago), then per open
# reservation in the database: id, amount, expiry (ms). Sets spent to the ledger's, adds the
# database's open reservations that Redis lacks, drops expired ones and those Redis holds that the
# database does not (settled, or lost with their write) once past the grace period, and sets
# reserved to the sum of what remains. Returns {old spent, old reserved, new reserved}, or {} for
# a counter that does not exist (it is rebuilt when next needed).
RECONCILE = r"""
if redis.call('EXISTS', KEYS[1]) == 0 then return {} end
local old = redis.call('HMGET', KEYS[1], 'spent', 'reserved')
local now, cutoff = tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('HSET', KEYS[1], 'spent', ARGV[1])
local db = {}
for j = 4, #ARGV, 3 do
  local id, amount, expiry = ARGV[j], tonumber(ARGV[j + 1]), tonumber(ARGV[j + 2])
  db[id] = true
  if amount > 0 and expiry > now and redis.call('HEXISTS', KEYS[3], id) == 0 then
    redis.call('ZADD', KEYS[2], expiry, id)
    redis.call('HSET', KEYS[3], id, amount)
  end
end
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', cutoff)) do
  if tonumber(redis.call('ZSCORE', KEYS[2], id)) <= now or not db[id] then
    redis.call('ZREM', KEYS[2], id)
    redis.call('HDEL', KEYS[3], id)
  end
end
local reserved = 0
for _, id in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
  local amount = tonumber(redis.call('HGET', KEYS[3], id) or '0')
  if amount > 0 then reserved = reserved + amount else redis.call('ZREM', KEYS[2], id) end
end
for _, id in ipairs(redis.call('HKEYS', KEYS[3])) do
  if not redis.call('ZSCORE', KEYS[2], id) then redis.call('HDEL', KEYS[3], id) end
end
redis.call('HSET', KEYS[1], 'reserved', reserved)
local ttl = redis.call('PTTL', KEYS[1])
if ttl > 0 and reserved > 0 then
  redis.call('PEXPIRE', KEYS[2], ttl)
  redis.call('PEXPIRE', KEYS[3], ttl)
end
return {old[1] or '0', old[2] or '0', tostring(reserved)}
"""

# KEYS: list. ARGV: how many. Takes up to that many entries off the end (oldest first).
POP = r"""
local n = tonumber(ARGV[1])
local items = redis.call('LRANGE', KEYS[1], -n, -1)
if #items > 0 then redis.call('LTRIM', KEYS[1], 0, -(#items) - 1) end
return items
"""

# KEYS: hash. Takes every field and empties the hash.
TAKE_HASH = r"""
local items = redis.call('HGETALL', KEYS[1])
redis.call('DEL', KEYS[1])
return items
"""


# KEYS: use-case version, global version, policy. ARGV: versions built at, policy JSON, ttl ms.
# Stores a freshly built policy only if no change bumped a version while it was being built.
STORE_POLICY = r"""
local ver = (redis.call('GET', KEYS[1]) or '0') .. ':' .. (redis.call('GET', KEYS[2]) or '0')
if ver == ARGV[1] then redis.call('SET', KEYS[3], ARGV[2], 'PX', ARGV[3]) return 1 end
return 0
"""


class Unavailable(Exception):
    """Redis could not be reached (or answered an error): the Redis-down policy applies."""


_local = threading.local()
_lock = threading.Lock()
_clients: dict[str, "Counters"] = {}


def counters() -> "Counters | None":
    """The counters of this process, for the configured URL; None when no Redis is configured."""
    url = settings.AIFINOPS_GATEWAY_REDIS_URL
    if not url:
        return None
    found = _clients.get(url)
    if found is None:
        with _lock:
            found = _clients.get(url)
            if found is None:
                found = _clients[url] = Counters(url, timeout=settings.AIFINOPS_GATEWAY_REDIS_TIMEOUT)
    return found


class Counters:
    """A Redis connection pool and the registered scripts. Thread-safe; one per process and URL."""

    def __init__(self, url: str, *, timeout: float):
        self.client = redis.Redis.from_url(
            url,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry_on_timeout=False,
            decode_responses=True,
        )
        self.authorize_script = self.client.register_script(AUTHORIZE)
        self.settle_script = self.client.register_script(SETTLE)
        self.settle_many_script = self.client.register_script(SETTLE_MANY)
        self.seed_script = self.client.register_script(SEED)
        self.reconcile_script = self.client.register_script(RECONCILE)
        self.pop_script = self.client.register_script(POP)
        self.take_hash_script = self.client.register_script(TAKE_HASH)
        self.store_policy_script = self.client.register_script(STORE_POLICY)

    def call(self, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except redis.RedisError as exc:
            raise Unavailable(str(exc)) from exc

    def get(self, key):
        return self.call(self.client.get, key)

    def mget(self, keys):
        return self.call(self.client.mget, keys)

    def set(self, key, value, *, px=None):
        return self.call(self.client.set, key, value, px=px)

    def bump(self, versions, policies=()):
        """Increment policy versions and drop the cached policies at once (MULTI), so every process
        rebuilds the policies they name."""
        pipe = self.client.pipeline(transaction=True)
        for key in versions:
            pipe.incr(key)
        if policies:
            pipe.delete(*policies)
        return self.call(pipe.execute)

    def delete(self, *keys):
        return self.call(self.client.delete, *keys)


def version_key(use_case_id) -> str:
    return f"gw:v:{use_case_id}"


GLOBAL_VERSION_KEY = "gw:v:global"
LOG_KEY = "gw:log"
LAST_USED_KEY = "gw:lastused"


def cap_key(cap_id: str, period_start) -> str:
    return f"gw:cap:{cap_id}:{period_start:%Y%m%d}"


def capz_key(cap_id: str, period_start) -> str:
    return f"gw:capz:{cap_id}:{period_start:%Y%m%d}"


def cap_keys(cap: dict) -> list[str]:
    """The counter, reservation set and reservation amounts of a policy's cap."""
    start = cap["start"].replace("-", "")
    return [f"gw:cap:{cap['id']}:{start}", f"gw:capz:{cap['id']}:{start}", f"gw:capa:{cap['id']}:{start}"]


def reservation_key(use_case_id, reservation_id: str) -> str:
    return f"gw:res:{use_case_id}:{reservation_id}"


def run_key(use_case_id, run_id: str) -> str:
    return f"gw:run:{use_case_id}:{run_id}" if run_id else ""


def rate_key(use_case_id, minute: int) -> str:
    return f"gw:rate:{use_case_id}:{minute}"


def to_micro(amount) -> int:
    """Micro-units of a Decimal amount, rounded up: an estimate never rounds down to free."""
    scaled = amount * MICRO
    whole = int(scaled)
    return whole + 1 if scaled > whole else whole


def from_micro(value: int):
    from decimal import Decimal

    return (Decimal(value) / MICRO).quantize(Decimal("0.000001"))
