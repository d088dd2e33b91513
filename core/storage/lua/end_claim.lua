-- Ends a job's claim (see core.cooldown.after_finish); a delivered job starts the cooldown.
-- KEYS[1] cooldown hash; ARGV: job id, delivered (1/0), cooldown seconds, now, keep seconds.
local state = redis.call('HMGET', KEYS[1], 'available_at', 'running_job', 'running_since')
if state[2] ~= ARGV[1] then
    return 0
end
local available = tonumber(state[1]) or 0
if ARGV[2] == '1' and state[3] then
    available = math.max(available, tonumber(state[3]) + tonumber(ARGV[3]))
end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'available_at', string.format('%.17g', available))
local matters = math.max(available - tonumber(ARGV[4]), 0)
redis.call('EXPIRE', KEYS[1], math.ceil(matters + tonumber(ARGV[5])))
return 1
