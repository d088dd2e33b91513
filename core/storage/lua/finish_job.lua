-- Marks a job done with its outcome.
-- KEYS[1] job hash, KEYS[2] unfinished set; ARGV: job id, outcome, images, cost ('' for
-- none), now, message ids ('' for none), only if unfinished (1/0), as the journal's close
-- (1/0: also forget the token and the hold, and note the change).
local state = redis.call('HGET', KEYS[1], 'state')
if not state or (ARGV[7] == '1' and state == 'done') then
    return 0
end
redis.call('HSET', KEYS[1], 'state', 'done', 'outcome', ARGV[2], 'images', ARGV[3],
    'cost_usd_ticks', ARGV[4], 'finished_at', ARGV[5], 'message_ids', ARGV[6])
if ARGV[8] == '1' then
    redis.call('HDEL', KEYS[1], 'interaction_token', 'owner', 'lease_until')
    redis.call('HSET', KEYS[1], 'updated_at', ARGV[5])
end
redis.call('ZREM', KEYS[2], ARGV[1])
return 1
