-- wrk script of bench/run.sh. Configured through the environment (wrk passes no arguments
-- to the top level, and a script without request() keeps wrk's pre-built fast path):
--   BENCH_WRK_METHOD       request method (default GET)
--   BENCH_WRK_BODY_FILE    file whose content is the request body (sent as JSON)
--   BENCH_WRK_TOKENS_FILE  one JWT a line: every request carries the next token as
--                          "Authorization: Bearer <token>"; the tokens are dealt out to the
--                          threads (thread i takes lines i, i+T, i+2T, ...), so no token is
--                          sent twice before every one has been sent once
--   BENCH_WRK_THREADS      wrk's -t, needed to deal the tokens out
--   BENCH_WRK_STOP_AFTER   wrk exits after this many responses (a fixed request count for
--                          profiling; use -t1 -c1)
--   BENCH_WRK_BOOKING_FROM bookings: every request's body books the next 30-minute slot from
--                          this time (ms), 4 requests a slot (the service's 4 hosts); the
--                          sequence is dealt out to the threads like the tokens
--   BENCH_WRK_BOOKING_SEQ  bookings: where the sequence starts (a later run starts after the
--                          requests of the earlier ones, so no slot is asked a fifth time)
-- done() prints one machine-readable line starting with BENCH_RESULT.

local method = os.getenv("BENCH_WRK_METHOD")
local body_file = os.getenv("BENCH_WRK_BODY_FILE")
local tokens_file = os.getenv("BENCH_WRK_TOKENS_FILE")

-- Reads a whole file; errors (and so stops wrk) when it cannot.
local function slurp(name)
   local f = assert(io.open(name, "rb"))
   local s = f:read("*a")
   f:close()
   return s
end

if method ~= nil and method ~= "" then
   wrk.method = method
end
if body_file ~= nil and body_file ~= "" then
   wrk.body = slurp(body_file)
   wrk.headers["Content-Type"] = "application/json"
end

local counter = 1
function setup(thread)
   thread:set("id", counter)
   counter = counter + 1
end

if tokens_file ~= nil and tokens_file ~= "" then
   local reqs = {}
   local n, i = 0, 0

   function init(args)
      local nthreads = tonumber(os.getenv("BENCH_WRK_THREADS") or "1")
      local line = 0
      local headers = {}
      for k, v in pairs(wrk.headers) do
         headers[k] = v
      end
      for tok in io.lines(tokens_file) do
         if tok ~= "" then
            if line % nthreads == id - 1 then
               headers["Authorization"] = "Bearer " .. tok
               n = n + 1
               reqs[n] = wrk.format(nil, nil, headers, nil)
            end
            line = line + 1
         end
      end
      assert(n > 0, "no tokens for this thread in " .. tokens_file)
   end

   function request()
      i = i + 1
      if i > n then
         i = 1
      end
      return reqs[i]
   end
end

local booking_from = tonumber(os.getenv("BENCH_WRK_BOOKING_FROM") or "")
if booking_from ~= nil then
   local nthreads = tonumber(os.getenv("BENCH_WRK_THREADS") or "1")
   local seq = tonumber(os.getenv("BENCH_WRK_BOOKING_SEQ") or "0")
   local slot = 1800000
   local k = 0

   function request()
      local n = seq + k * nthreads + (id - 1)
      k = k + 1
      local body = string.format('{"startTs":%.0f,"duration":%d}',
                                 booking_from + math.floor(n / 4) * slot, slot)
      return wrk.format(nil, nil, nil, body)
   end
end

-- wrk's main thread sleeps for the whole -d even when every thread has stopped, so a fixed
-- count ends the process itself, after printing its own BENCH_RESULT line (counts only; a
-- non-2xx here is any status outside 200..299).
local stop_after = tonumber(os.getenv("BENCH_WRK_STOP_AFTER") or "")
if stop_after ~= nil then
   local seen, bad = 0, 0

   function response(status, headers, body)
      seen = seen + 1
      if status < 200 or status > 299 then
         bad = bad + 1
      end
      if seen >= stop_after then
         io.write(string.format(
            "BENCH_RESULT requests=%d duration_us=0 p50_us=0 p99_us=0 non2xx=%d " ..
            "connect=0 read=0 write=0 timeout=0\n", seen, bad))
         io.stdout:flush()
         os.exit(0)
      end
   end
end

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      "BENCH_RESULT requests=%d duration_us=%d p50_us=%d p99_us=%d non2xx=%d " ..
      "connect=%d read=%d write=%d timeout=%d\n",
      summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
      e.status, e.connect, e.read, e.write, e.timeout))
end
