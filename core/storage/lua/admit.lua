-- The claim and the reservation together, all or nothing; runs after claim_rules.lua,
-- quota_rules.lua (whose rules hold the spend counters too, in ticks).
-- KEYS: cooldown hash, the member's counter [, the server's counter] [, the bot's spend
-- counter [, the server's spend counter]]; ARGV: now, job id, exempt (1/0), stale seconds,
-- keep seconds, images, member limit, server limit, seconds to keep the counters, the
-- member's blocked-prompts hash in the server ('' in a direct message), then how many
-- image counters there are (1 or 2; '' or missing: all the counters are image counters),
-- the spend to reserve in ticks (as text), the bot's spend limit, the server's. Returns
-- {claimed (1/0), available_at, running_job, running_since} as read, then {reserved
-- (1/0), member used, server used} as read (zeros if not claimed); for a member paused in
-- the server, nothing is checked or taken and an eighth item says until when. With spend,
-- three more: '' (not paused), the bot's spend and the server's as read.
local now = tonumber(ARGV[1])
if ARGV[10] ~= '' then
    local paused = redis.call('HGET', ARGV[10], 'paused_until')
    if paused and tonumber(paused) > now then
        return {0, '', '', '', 0, 0, 0, paused}
    end
end
local counted = tonumber(ARGV[11] or '') or (#KEYS - 1)
local image_keys = {KEYS[1]}
local spend_keys = {}
for i = 2, #KEYS do
    if i <= counted + 1 then
        image_keys[#image_keys + 1] = KEYS[i]
    else
        spend_keys[#spend_keys + 1] = KEYS[i]
    end
end
local stale = tonumber(ARGV[4])
local free, available, read = read_claim(KEYS[1], now, ARGV[3] == '1', stale)
if not free then
    return {0, read[1], read[2], read[3], 0, 0, 0}
end
local images = tonumber(ARGV[6])
local allowed, user_used, guild_used =
    read_quota(image_keys[2], image_keys[3], images, tonumber(ARGV[7]), tonumber(ARGV[8]))
local bot_spent, guild_spent = 0, 0
if allowed and #spend_keys > 0 then
    allowed, bot_spent, guild_spent = read_quota(
        spend_keys[1], spend_keys[2], tonumber(ARGV[12]), tonumber(ARGV[13]),
        tonumber(ARGV[14]))
end
local reply = {1, read[1], read[2], read[3], 0, user_used, guild_used}
if #spend_keys > 0 then
    reply[8], reply[9], reply[10] = '', bot_spent, guild_spent
end
if not allowed then
    return reply
end
take_claim(KEYS[1], ARGV[2], ARGV[1], now, available, stale, tonumber(ARGV[5]))
take_quota(image_keys, 2, images, ARGV[9])
if #spend_keys > 0 then
    -- The amount as sent: a Lua number past 14 digits would be written as 1e+14.
    take_quota(spend_keys, 1, ARGV[12], ARGV[9])
end
reply[5] = 1
return reply
