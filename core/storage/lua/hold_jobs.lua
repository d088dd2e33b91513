-- Renews (or hands back) an owner's hold on its unfinished jobs; a renewal renews the
-- claims of those jobs too (see claim_rules.lua).
-- KEYS[1] unfinished set; ARGV: key prefix of job hashes, owner, hold until ('' to hand
-- back), now, key prefix of cooldown hashes. Returns how many jobs the owner holds.
local count = 0
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
    local key = ARGV[1] .. id
    local job = redis.call('HMGET', key, 'state', 'owner', 'user_id')
    if job[1] and job[1] ~= 'done' and job[2] == ARGV[2] then
        if ARGV[3] == '' then
            redis.call('HDEL', key, 'owner', 'lease_until')
            redis.call('HSET', key, 'updated_at', ARGV[4])
        else
            redis.call('HSET', key, 'lease_until', ARGV[3])
            local claim = ARGV[5] .. (job[3] or '')
            if job[3] and redis.call('HGET', claim, 'running_job') == id then
                redis.call('HSET', claim, 'claim_renewed_at', ARGV[4])
            end
        end
        count = count + 1
    end
end
return count
