-- The claim and the reservation together, all or nothing; runs after claim_rules.lua and
-- quota_rules.lua.
-- KEYS: cooldown hash, the member's counter [, the server's counter]; ARGV: now, job id,
-- exempt (1/0), stale seconds, keep seconds, images, member limit, server limit, seconds to
-- keep the counters, the member's blocked-prompts hash in the server ('' in a direct
-- message). Returns {claimed (1/0), available_at, running_job, running_since} as read, then
-- {reserved (1/0), member used, server used} as read (zeros if not claimed); for a member
-- paused in the server, nothing is checked or taken and an eighth item says until when.
local now = tonumber(ARGV[1])
if ARGV[10] ~= '' then
    local paused = redis.call('HGET', ARGV[10], 'paused_until')
    if paused and tonumber(paused) > now then
        return {0, '', '', '', 0, 0, 0, paused}
    end
end
local stale = tonumber(ARGV[4])
local free, available, read = read_claim(KEYS[1], now, ARGV[3] == '1', stale)
if not free then
    return {0, read[1], read[2], read[3], 0, 0, 0}
end
local images = tonumber(ARGV[6])
local allowed, user_used, guild_used =
    read_quota(KEYS[2], KEYS[3], images, tonumber(ARGV[7]), tonumber(ARGV[8]))
if not allowed then
    return {1, read[1], read[2], read[3], 0, user_used, guild_used}
end
take_claim(KEYS[1], ARGV[2], ARGV[1], now, available, stale, tonumber(ARGV[5]))
take_quota(KEYS, 2, images, ARGV[9])
return {1, read[1], read[2], read[3], 1, user_used, guild_used}
