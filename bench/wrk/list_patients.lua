-- GET /patients?limit=50&after={random}, keep-alive.
local n = tonumber(os.getenv("PATIENTS") or "10000")
local headers = {}
if os.getenv("TOKEN") then headers["Authorization"] = "Bearer " .. os.getenv("TOKEN") end
math.randomseed(os.time() + 1)
request = function()
  return wrk.format("GET", "/patients?limit=50&after=" .. math.random(0, n - 50), headers)
end
