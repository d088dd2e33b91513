-- The daily image counters, shared by the scripts that reserve images (see
-- core.quota.decide).

-- Do ``images`` fit the member's counter and the server's (if any)? Returns whether they
-- do and both counts as read.
local function read_quota(user_key, guild_key, images, user_limit, guild_limit)
    local function fits(used, limit)
        return limit <= 0 or images <= math.max(0, limit - used)
    end
    local user_used = tonumber(redis.call('GET', user_key) or '0')
    local guild_used = 0
    if guild_key then
        guild_used = tonumber(redis.call('GET', guild_key) or '0')
    end
    local allowed = fits(user_used, user_limit)
    if guild_key and not fits(guild_used, guild_limit) then
        allowed = false
    end
    return allowed, user_used, guild_used
end
local function take_quota(keys, first, images, keep)
    for i = first, #keys do
        redis.call('INCRBY', keys[i], images)
        redis.call('EXPIRE', keys[i], keep)
    end
end
