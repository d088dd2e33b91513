-- Writes a new job hash and indexes it; a job id is written once.
-- KEYS[1] job hash, KEYS[2] unfinished set [, KEYS[3] the server's job set]; ARGV: job id,
-- created at, then field, value, ...
if redis.call('EXISTS', KEYS[1]) == 1 then
    return redis.error_reply('job ' .. ARGV[1] .. ' is already recorded')
end
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
-- A job recorded as finished already (turned away) is never listed as unfinished.
if redis.call('HGET', KEYS[1], 'state') ~= 'done' then
    redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
end
if KEYS[3] then
    redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1])
end
return 1
