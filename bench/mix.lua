-- Q6 of bench/compare.sh: for every update of a random step's taskNote, nine reads of a
-- random step with its sequence. Step ids come from MIX_IDS (steps of unlocked sequences, so
-- every update is allowed); AUTH is the Authorization header. Each request has its own body.
local ids = {}
for id in string.gmatch(os.getenv("MIX_IDS") or "", "[^,]+") do ids[#ids + 1] = id end
local auth = os.getenv("AUTH")
local headers = { ["Content-Type"] = "application/json" }
if auth and auth ~= "" then headers["Authorization"] = auth end
local n = 0

request = function()
  n = n + 1
  local id = ids[math.random(#ids)]
  local body
  if n % 10 == 0 then
    body = '{"query":"mutation($id: ID!) { updateSequenceStep(id: $id, input: { taskNote: \\"bench ' .. n .. '\\" }) { id updatedAt } }","variables":{"id":"' .. id .. '"}}'
  else
    body = '{"query":"query($id: ID!) { sequenceStep(id: $id) { id stepType order taskNote sequence { name } } }","variables":{"id":"' .. id .. '"}}'
  end
  return wrk.format("POST", nil, headers, body)
end

-- Every answer is checked: a GraphQL error anywhere fails the run (bench/compare.sh reads the
-- count that `done` prints).
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) errors = 0 end
function response(status, headers, body)
  if status ~= 200 or string.find(body, '"errors"', 1, true) then errors = errors + 1 end
end
function done(summary, latency, requests)
  local total = 0
  for _, t in ipairs(threads) do total = total + (t:get("errors") or 0) end
  io.write("graphql errors: " .. total .. "\n")
end
