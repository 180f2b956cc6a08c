-- GET /patients/{random id} over 1..PATIENTS (env), keep-alive.
local n = tonumber(os.getenv("PATIENTS") or "10000")
local headers = {}
if os.getenv("TOKEN") then headers["Authorization"] = "Bearer " .. os.getenv("TOKEN") end
math.randomseed(os.time())
request = function()
  return wrk.format("GET", "/patients/" .. math.random(1, n), headers)
end
