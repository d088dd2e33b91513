-- Moves an unfinished job to another unfinished state.
-- KEYS[1] job hash; ARGV: state, now. Returns 1 if the job moved.
local state = redis.call('HGET', KEYS[1], 'state')
if not state or state == 'done' then
    return 0
end
redis.call('HSET', KEYS[1], 'state', ARGV[1], 'updated_at', ARGV[2])
return 1
