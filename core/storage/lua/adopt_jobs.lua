-- Takes every unfinished job whose owner let go or whose hold ran out (not the taker's own).
-- KEYS[1] unfinished set; ARGV: key prefix of job hashes, owner, now, hold until.
-- Returns each taken job as {id, field, value, ...}, oldest first.
local taken = {}
local now = tonumber(ARGV[3])
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
    local key = ARGV[1] .. id
    local job = redis.call('HMGET', key, 'state', 'owner', 'lease_until')
    local lease = tonumber(job[3])
    local free = not job[2] or job[2] == '' or not lease or lease < now
    -- An owner's own jobs run in it: taking them again would run them twice.
    if job[1] and job[1] ~= 'done' and free and job[2] ~= ARGV[2] then
        redis.call('HSET', key, 'owner', ARGV[2], 'lease_until', ARGV[4], 'updated_at', ARGV[3])
        local record = redis.call('HGETALL', key)
        table.insert(record, 1, id)
        table.insert(taken, record)
    end
end
return taken
