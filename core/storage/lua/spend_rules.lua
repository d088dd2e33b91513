-- The daily spend counters (ticks), shared by the scripts that reserve spend (see
-- core.storage.records.decide_spend).

-- Does ``ticks`` more fit the bot's counter and the server's (if any)? Returns whether it
-- does and both counts as read.
local function read_spend(bot_key, guild_key, ticks, bot_limit, guild_limit)
    local function fits(used, limit)
        return limit <= 0 or used + ticks <= limit
    end
    local bot_spent = tonumber(redis.call('GET', bot_key) or '0')
    local guild_spent = 0
    if guild_key then
        guild_spent = tonumber(redis.call('GET', guild_key) or '0')
    end
    local allowed = fits(bot_spent, bot_limit)
    if guild_key and not fits(guild_spent, guild_limit) then
        allowed = false
    end
    return allowed, bot_spent, guild_spent
end
-- ``ticks_text`` as sent: a Lua number past 14 digits would be written as 1e+14.
local function take_spend(keys, ticks_text, keep)
    for _, key in ipairs(keys) do
        redis.call('INCRBY', key, ticks_text)
        redis.call('EXPIRE', key, keep)
    end
end
