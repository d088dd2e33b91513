-- Gives images back to a day's counters.
-- KEYS: counters; ARGV[1]: images to give back. A counter never goes below zero, and one
-- already gone (its day long past) stays gone.
for _, key in ipairs(KEYS) do
    local used = tonumber(redis.call('GET', key))
    if used then
        redis.call('SET', key, math.max(0, used - tonumber(ARGV[1])), 'KEEPTTL')
    end
end
return 0
