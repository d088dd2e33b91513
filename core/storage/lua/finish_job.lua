-- Marks a job done with its outcome.
-- KEYS[1] job hash, KEYS[2] unfinished set [, KEYS[3] the daily totals of the job's server
-- and day]; ARGV: job id, outcome, images, cost ('' for none), now, message ids ('' for
-- none), only if unfinished (1/0), as the journal's close (1/0: also forget the token and
-- the hold, and note the change), seconds to keep the record, seconds to keep the totals.
local state = redis.call('HGET', KEYS[1], 'state')
if not state or (ARGV[7] == '1' and state == 'done') then
    return 0
end
local before = redis.call('HMGET', KEYS[1], 'outcome', 'images', 'cost_usd_ticks')
redis.call('HSET', KEYS[1], 'state', 'done', 'outcome', ARGV[2], 'images', ARGV[3],
    'cost_usd_ticks', ARGV[4], 'finished_at', ARGV[5], 'message_ids', ARGV[6])
if ARGV[8] == '1' then
    redis.call('HDEL', KEYS[1], 'interaction_token', 'owner', 'lease_until')
    redis.call('HSET', KEYS[1], 'updated_at', ARGV[5])
end
redis.call('ZREM', KEYS[2], ARGV[1])
-- The day's totals: what a job closed before counted is taken back first.
local function count(outcome, images, cost, sign)
    redis.call('HINCRBY', KEYS[3], 'jobs:' .. outcome, sign)
    redis.call('HINCRBY', KEYS[3], 'images:' .. outcome, sign * (tonumber(images) or 0))
    if cost and cost ~= '' then
        redis.call('HINCRBY', KEYS[3], 'cost:' .. outcome, sign * tonumber(cost))
        redis.call('HINCRBY', KEYS[3], 'costed:' .. outcome, sign)
    end
end
if KEYS[3] then
    if state == 'done' and before[1] and before[1] ~= '' then
        count(before[1], before[2], before[3], -1)
    end
    count(ARGV[2], ARGV[3], ARGV[4], 1)
    redis.call('EXPIRE', KEYS[3], ARGV[10])
end
redis.call('EXPIRE', KEYS[1], ARGV[9])
return 1
