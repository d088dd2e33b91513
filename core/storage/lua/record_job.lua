-- Writes a new job hash and indexes it; a job id is written once.
-- KEYS[1] job hash, KEYS[2] unfinished set, KEYS[3] every job by creation time; ARGV: job
-- id, created at, then field, value, ...
if redis.call('EXISTS', KEYS[1]) == 1 then
    return redis.error_reply('job ' .. ARGV[1] .. ' is already recorded')
end
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1])
return 1
