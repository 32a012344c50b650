-- wrk script of the benchmark: one GET path with the bench headers; writes a JSON summary.
--   BENCH_PATH    path and query of every request
--   BENCH_AUTH    value of the Authorization header (optional)
--   BENCH_TENANT  value of X-Tenant-Id (optional; nginx's cache key uses it)
--   BENCH_GZIP    "1": send Accept-Encoding: gzip
--   BENCH_UNIQUE  a run nonce; when set, every request gets its own URL (&_bench=<nonce>-<thread>-<n>)
--   BENCH_OUT     file the JSON summary is written to
local path = os.getenv("BENCH_PATH") or "/"
local auth = os.getenv("BENCH_AUTH") or ""
local tenant = os.getenv("BENCH_TENANT") or ""
local gzip = os.getenv("BENCH_GZIP") or ""
local unique = os.getenv("BENCH_UNIQUE") or ""
local out = os.getenv("BENCH_OUT")

wrk.path = path
if auth ~= "" then wrk.headers["Authorization"] = auth end
if tenant ~= "" then wrk.headers["X-Tenant-Id"] = tenant end
if gzip == "1" then wrk.headers["Accept-Encoding"] = "gzip" end

local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("thread_id", threads)
end

-- Defined only when needed: without request(), wrk sends its prebuilt request and runs no Lua per request.
if unique ~= "" then
  local counter = 0
  local sep = string.find(path, "?", 1, true) and "&" or "?"
  function request()
    counter = counter + 1
    return wrk.format("GET", path .. sep .. "_bench=" .. unique .. "-" .. tostring(thread_id) .. "-" .. counter)
  end
end

function done(summary, latency, requests)
  local f = assert(io.open(out, "w"))
  local e = summary.errors
  f:write(string.format(
    '{"requests":%.0f,"durationUs":%.0f,"bytes":%.0f,' ..
    '"errors":{"connect":%.0f,"read":%.0f,"write":%.0f,"status":%.0f,"timeout":%.0f},' ..
    '"latencyUs":{"p50":%.0f,"p90":%.0f,"p99":%.0f,"p999":%.0f,"max":%.0f,"mean":%.1f}}',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9),
    latency.max, latency.mean))
  f:close()
end
