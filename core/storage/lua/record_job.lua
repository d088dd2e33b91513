-- Writes a new job hash and indexes it; a job id is written once. A job written as
-- finished already (turned away) is never listed as unfinished, counts in its server's
-- daily totals at once, and expires like a closed job.
-- KEYS[1] job hash, KEYS[2] unfinished set, KEYS[3] every job by creation time [, KEYS[4]
-- the daily totals of the job's server and day]; ARGV: job id, created at, seconds to keep
-- the totals, seconds to keep a finished record, then field, value, ...
if redis.call('EXISTS', KEYS[1]) == 1 then
    return redis.error_reply('job ' .. ARGV[1] .. ' is already recorded')
end
redis.call('HSET', KEYS[1], unpack(ARGV, 5))
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1])
if redis.call('HGET', KEYS[1], 'state') ~= 'done' then
    redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
    return 1
end
if KEYS[4] then
    local done = redis.call('HMGET', KEYS[1], 'outcome', 'images', 'cost_usd_ticks')
    redis.call('HINCRBY', KEYS[4], 'jobs:' .. done[1], 1)
    redis.call('HINCRBY', KEYS[4], 'images:' .. done[1], tonumber(done[2]) or 0)
    if done[3] then
        redis.call('HINCRBY', KEYS[4], 'cost:' .. done[1], tonumber(done[3]))
        redis.call('HINCRBY', KEYS[4], 'costed:' .. done[1], 1)
    end
    redis.call('EXPIRE', KEYS[4], ARGV[3])
end
redis.call('EXPIRE', KEYS[1], ARGV[4])
return 1
