-- Replaces an unfinished job's parameters, if they are still those the caller read.
-- KEYS[1] job hash; ARGV: the parameters read, the new ones, now.
-- Returns 1 if written, 0 if the job is closed or unknown, -1 if they changed meanwhile.
local state = redis.call('HGET', KEYS[1], 'state')
if not state or state == 'done' then
    return 0
end
if redis.call('HGET', KEYS[1], 'params') ~= ARGV[1] then
    return -1
end
redis.call('HSET', KEYS[1], 'params', ARGV[2], 'updated_at', ARGV[3])
return 1
