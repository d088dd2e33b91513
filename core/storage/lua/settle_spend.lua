-- Settles reserved spend with the real cost, on the day it was reserved on.
-- KEYS: spend counters; ARGV[1]: ticks to add (negative: to give back), as text, since a
-- Lua number past 14 digits is written as 1e+14; ARGV[2]: seconds to keep a counter that
-- has to be made (0: its day is past keeping, leave it). A counter never goes below zero.
local keep = tonumber(ARGV[2])
for _, key in ipairs(KEYS) do
    if redis.call('EXISTS', key) == 1 then
        if redis.call('INCRBY', key, ARGV[1]) < 0 then
            redis.call('SET', key, 0, 'KEEPTTL')
        end
    elseif tonumber(ARGV[1]) > 0 and keep > 0 then
        redis.call('SET', key, ARGV[1], 'EX', keep)
    end
end
return 0
