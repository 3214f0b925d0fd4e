-- wrk script for POST /api/v1/requests: one request per pre-registered group, then done.
--
-- Group g (1..INTAKE_GROUPS) signs in with bearer token "bench-<g>" and asks with
-- Idempotency-Key "key-<g>". Thread t of T takes groups t+1, t+1+T, ... Every
-- INTAKE_RETRY_EVERY-th group is asked for a second time, later, with the same key: a client
-- that gave up waiting and retried (the answer must be the first one, replayed).
-- wrk asks each thread for one request it never sends (it checks the script with it): that
-- first one is a GET filler. When a thread has sent every group, its free connections send
-- GET fillers (an answer of 200, which the intake never gives) until all its answers are in;
-- then it stops and writes INTAKE_IDS.done.<thread>, and the benchmark interrupts wrk, which
-- then prints its figures.
-- Each 201's request id is written to INTAKE_IDS (one file per thread) so the benchmark can
-- match the answers with the stored requests.
local threads = {}
local next_id = 0

function setup(thread)
  thread:set("tid", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  nthreads = tonumber(os.getenv("INTAKE_THREADS"))
  last = tonumber(os.getenv("INTAKE_GROUPS"))
  retry_every = tonumber(os.getenv("INTAKE_RETRY_EVERY") or "0")
  filler_path = os.getenv("INTAKE_FILLER") or "/api/v1/health"
  ports = {"san-ysidro", "calexico", "nogales", "el-paso", "eagle-pass", "laredo", "hidalgo", "brownsville"}
  coords = os.getenv("INTAKE_LOCATION") or '{"lat": 32.5149, "lon": -117.0382}'
  g = tid + 1
  pending, retry_at = {}, 0
  inflight, sent, retried = 0, 0, 0
  created, replayed, refused, fillers, other = 0, 0, 0, 0, 0
  ids = io.open(os.getenv("INTAKE_IDS") .. "." .. tid, "w")
  finished, primed = false, false
end

local function intake(group)
  local port = ports[(group % #ports) + 1]
  local body = '{"ports": ["' .. port .. '"], "location": ' .. coords .. '}'
  return wrk.format("POST", "/api/v1/requests", {
    ["Authorization"] = "Bearer bench-" .. group,
    ["Idempotency-Key"] = "key-" .. group,
    ["Content-Type"] = "application/json",
  }, body)
end

function request()
  if not primed then
    primed = true
    return wrk.format("GET", filler_path)
  end
  local group
  -- A retry goes out once a few other requests have passed since its first sending.
  if #pending > 0 and (sent >= retry_at or g > last) then
    group = table.remove(pending, 1)
    retried = retried + 1
  elseif g <= last then
    group = g
    g = g + nthreads
    if retry_every > 0 and group % retry_every == 0 then
      table.insert(pending, group)
      if #pending == 1 then retry_at = sent + 50 end
    end
  else
    return wrk.format("GET", filler_path)
  end
  sent = sent + 1
  inflight = inflight + 1
  return intake(group)
end

function response(status, headers, body)
  if status == 200 then
    fillers = fillers + 1
  else
    inflight = inflight - 1
    if status == 201 then
      local id = body:match('"id":%s*(%d+)')
      if headers["Idempotent-Replayed"] or headers["idempotent-replayed"] then
        replayed = replayed + 1
        ids:write("r ", id or "?", "\n")
      else
        created = created + 1
        ids:write("c ", id or "?", "\n")
      end
    elseif status == 429 or status == 409 or status == 422 then
      refused = refused + 1
    else
      other = other + 1
    end
  end
  if not finished and g > last and #pending == 0 and inflight == 0 then
    finished = true
    ids:close()
    io.open(os.getenv("INTAKE_IDS") .. ".done." .. tid, "w"):close()
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local t = {created = 0, replayed = 0, refused = 0, fillers = 0, other = 0, retried = 0, sent = 0}
  for _, thread in ipairs(threads) do
    for k, _ in pairs(t) do t[k] = t[k] + thread:get(k) end
  end
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"created":%d,"replayed":%d,"refused":%d,' ..
    '"fillers":%d,"other":%d,"retried":%d,"sent":%d,"socket_errors":%d,"timeouts":%d,' ..
    '"p50_us":%d,"p95_us":%d,"p99_us":%d,"max_us":%d}\n',
    summary.requests, summary.duration, t.created, t.replayed, t.refused, t.fillers, t.other,
    t.retried, t.sent, e.connect + e.read + e.write, e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max))
end
