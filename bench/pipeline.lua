-- pipeline.lua - wrk script for bench.sh case p: every write carries DEPTH (default 16) requests
-- for the same path, so the server finds them all in one read. wrk counts responses, so its
-- Requests/sec is requests, not batches.  wrk ... -s bench/pipeline.lua URL -- [DEPTH]
local depth = 16

init = function(args)
  depth = tonumber(args[1]) or depth
  local r = {}
  for i = 1, depth do
    r[i] = wrk.format(nil, wrk.path)
  end
  batch = table.concat(r)
end

request = function()
  return batch
end
