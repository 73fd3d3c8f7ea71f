-- wrk script: replay pre-signed raw requests (see bench/signing.py Pool.write for the file format).
-- Arguments (after --): nthreads pool_a a_unique [pool_b b_unique every]
--   pool A is replayed always; every `every`-th request comes from pool B instead.
--   A unique pool (1) is never cycled: thread t of T sends its entries t, t+T, t+2T, ...; a
--   wrap-around is counted in `wrapped` and makes the cell invalid (requests would be retries).
-- Responses are classified by status (2xx/3xx/4xx/5xx), and one body per error status is kept,
-- so no non-2xx answer is ever hidden; done() prints one JSON line prefixed with BENCHJSON.

local threads = {}
local counter = 1

function setup(thread)
  thread:set("id", counter)
  table.insert(threads, thread)
  counter = counter + 1
end

local function load(path)
  local f = assert(io.open(path, "rb"))
  local data = f:read("*a")
  f:close()
  local out, at = {}, 1
  while at <= #data do
    local nl = string.find(data, "\n", at, true)
    local size = tonumber(string.sub(data, at, nl - 1))
    out[#out + 1] = string.sub(data, nl + 1, nl + size)
    at = nl + 1 + size
  end
  return out
end

function init(args)
  nthreads = tonumber(args[1])
  a = load(args[2]); a_unique = args[3] == "1"
  if args[4] then
    b = load(args[4]); b_unique = args[5] == "1"; every = tonumber(args[6])
  end
  ia = id - 1; ib = id - 1; n = 0
  wrapped = 0
  c2xx = 0; c3xx = 0; c4xx = 0; c5xx = 0; cother = 0
  samples = ""
  seen = {}
end

function request()
  n = n + 1
  if b and n % every == 0 then
    local raw = b[(ib % #b) + 1]
    ib = ib + nthreads
    if b_unique and ib > #b + nthreads - 1 then wrapped = wrapped + 1 end
    return raw
  end
  local raw = a[(ia % #a) + 1]
  ia = ia + nthreads
  if a_unique and ia > #a + nthreads - 1 then wrapped = wrapped + 1 end
  return raw
end

local function jsonstr(s)
  s = string.gsub(s, '[%c"\\]', function(c) return string.format("\\u%04x", string.byte(c)) end)
  return '"' .. s .. '"'
end

function response(status, headers, body)
  if status >= 200 and status < 300 then c2xx = c2xx + 1
  else
    if status < 400 then c3xx = c3xx + 1 elseif status < 500 then c4xx = c4xx + 1
    elseif status < 600 then c5xx = c5xx + 1 else cother = cother + 1 end
    if not seen[status] then
      seen[status] = true
      samples = samples .. (samples == "" and "" or ",") .. jsonstr(tostring(status)) .. ":" ..
        jsonstr(string.sub(body or "", 1, 300))
    end
  end
end

function done(summary, latency, requests)
  local t = { c2xx = 0, c3xx = 0, c4xx = 0, c5xx = 0, cother = 0, wrapped = 0 }
  local all_samples = {}
  for _, thread in ipairs(threads) do
    for k, _ in pairs(t) do t[k] = t[k] + (thread:get(k) or 0) end
    local s = thread:get("samples")
    if s and s ~= "" then all_samples[#all_samples + 1] = s end
  end
  local pct = {}
  for _, p in ipairs({50, 75, 90, 99, 99.9, 99.99}) do
    pct[#pct + 1] = string.format('"%s":%.3f', tostring(p), latency:percentile(p) / 1000.0)
  end
  local cdf = {}
  for i = 1, 100 do
    local p = 100 - 100 / (10 ^ (i / 25))  -- 9.0 .. 99.99: dense in the tail
    cdf[#cdf + 1] = string.format("[%.5f,%.3f]", p, latency:percentile(p) / 1000.0)
  end
  io.write("BENCHJSON {",
    string.format('"duration_us":%d,"requests":%d,"bytes":%d,', summary.duration, summary.requests, summary.bytes),
    string.format('"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},',
      summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.status, summary.errors.timeout),
    string.format('"classes":{"2xx":%d,"3xx":%d,"4xx":%d,"5xx":%d,"other":%d},"wrapped":%d,',
      t.c2xx, t.c3xx, t.c4xx, t.c5xx, t.cother, t.wrapped),
    string.format('"latency_ms":{%s,"min":%.3f,"max":%.3f,"mean":%.3f,"stdev":%.3f},',
      table.concat(pct, ","), latency.min / 1000.0, latency.max / 1000.0, latency.mean / 1000.0, latency.stdev / 1000.0),
    '"cdf_ms":[', table.concat(cdf, ","), '],',
    '"error_samples":{', table.concat(all_samples, ","), '}}\n')
end
