-- The cooldown claim, shared by the scripts that take one (see core.cooldown.decide).

-- May a job claim this cooldown hash? Returns whether it is free, available_at as a
-- number, and the three fields as read (empty strings where missing; running_since as the
-- claim's last renewal when that is later: a renewed claim is stale only that long after).
local function read_claim(key, now, exempt, stale)
    local state = redis.call('HMGET', key, 'available_at', 'running_job', 'running_since',
        'claim_renewed_at')
    local available = tonumber(state[1]) or 0
    local since = tonumber(state[3])
    local renewed = tonumber(state[4])
    if since and renewed and renewed > since then
        since = renewed
        state[3] = state[4]
    end
    local running = state[2] and since and now - since < stale
    local waiting = not exempt and available > now
    return not (running or waiting), available, {state[1] or '', state[2] or '', state[3] or ''}
end
local function take_claim(key, job, now_text, now, available, stale, keep)
    redis.call('HSET', key, 'running_job', job, 'running_since', now_text)
    local matters = math.max(available - now, stale)
    redis.call('EXPIRE', key, math.ceil(matters + keep))
end
