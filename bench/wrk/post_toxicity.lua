-- POST /toxicities for a random course (1..COURSES), validated and audited.
local n = tonumber(os.getenv("COURSES") or "16000")
local headers = {["Content-Type"] = "application/json"}
if os.getenv("TOKEN") then headers["Authorization"] = "Bearer " .. os.getenv("TOKEN") end
math.randomseed(os.time() + 2)
request = function()
  local body = string.format('{"course_id":%d,"term":"Fatigue","grade":2,"onset_on":"1989-06-01",' ..
    '"attribution":"possible","outcome":"recovered","resolved_on":"1989-06-03"}', math.random(1, n))
  return wrk.format("POST", "/toxicities", headers, body)
end
