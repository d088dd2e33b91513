-- A member's blocked prompt in a server (see core.moderation.note_attempt).
-- KEYS: the member's hash (times: the recent attempts, exact and spaced; paused_until);
-- ARGV: now, limit, window seconds, the end of a pause this attempt would start, seconds
-- to keep the hash once paused, seconds to keep it otherwise. Returns {attempts (0 when
-- paused already: nothing counted), paused_until ('' when not paused), paused now (1/0)}.
local now = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local window = tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'times', 'paused_until')
if state[2] and tonumber(state[2]) > now then
    return {0, state[2], 0}
end
local recent = {}
for time in string.gmatch(state[1] or '', '%S+') do
    if now - tonumber(time) < window then
        table.insert(recent, time)
    end
end
table.insert(recent, ARGV[1])
while #recent > limit do
    table.remove(recent, 1)
end
redis.call('DEL', KEYS[1])
if #recent >= limit then
    redis.call('HSET', KEYS[1], 'paused_until', ARGV[4])
    redis.call('EXPIRE', KEYS[1], ARGV[5])
    return {#recent, ARGV[4], 1}
end
redis.call('HSET', KEYS[1], 'times', table.concat(recent, ' '))
redis.call('EXPIRE', KEYS[1], ARGV[6])
return {#recent, '', 0}
