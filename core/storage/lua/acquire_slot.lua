-- Takes an API slot for a job, or renews the one it holds.
-- KEYS[1] slots set; ARGV: job id, cap, now, lease until. Drops the slots whose lease ran
-- out, then renews the job's slot or takes a free one; returns 1 if the job holds a slot.
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[3])
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then
    redis.call('ZADD', KEYS[1], ARGV[4], ARGV[1])
    return 1
end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
    return 0
end
redis.call('ZADD', KEYS[1], ARGV[4], ARGV[1])
return 1
