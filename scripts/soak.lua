-- wrk script for scripts/soak.sh: each request carries the next of the tokens in the file given
-- after `--` (one per line), alternating GET /contacts and GET /calendar.
local tokens = {}
local i = 0

function init(args)
  for line in io.lines(args[1]) do
    if #line > 0 then tokens[#tokens + 1] = line end
  end
  -- Threads start at different places in the list.
  i = math.random(#tokens)
end

function request()
  i = i + 1
  local token = tokens[(i % #tokens) + 1]
  local path = (i % 2 == 0) and "/contacts" or "/calendar"
  return wrk.format("GET", path, { ["Authorization"] = "Bearer " .. token })
end
