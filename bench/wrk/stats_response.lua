-- GET /stats/response?group_by=regimen, repeated (the answer may be reused).
local headers = {}
if os.getenv("TOKEN") then headers["Authorization"] = "Bearer " .. os.getenv("TOKEN") end
request = function()
  return wrk.format("GET", "/stats/response?group_by=regimen", headers)
end
