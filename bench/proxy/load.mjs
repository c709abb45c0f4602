// The load generator, in a process of its own so its CPU never shares the proxy's event loop.
//   node bench/proxy/load.mjs '<json>'
// json: { url, connections, warmup (s), duration (s) | amount (requests), headers?,
//         method?, tokensFile?, tokenOffset?, tokenMode?: 'cycle' | 'burst', tokenHeader?,
//         overallRate? (requests per second, all connections together) }
// With tokensFile, each request carries the next token of the file in `tokenHeader`
// (default x-keyhole-token): 'cycle' takes them in order; 'burst' sends each token on as many
// requests in a row as there are connections (so they are in flight together).
// tokenOffset: where in the file to start (so consecutive runs against one server keep going
// through the tokens rather than replaying ones it has cached).
// Prints one JSON line: { requests, seconds, rps, non2xx, errors, tokensUsed,
// latency: { p50, p90, p99, mean } }
// with latencies in milliseconds, recorded per response from autocannon's hrtime durations (its
// own histogram rounds to whole milliseconds).
import { readFileSync } from 'node:fs'
import autocannon from 'autocannon'

const config = JSON.parse(process.argv[2])
const tokens = config.tokensFile ? JSON.parse(readFileSync(config.tokensFile, 'utf8')) : undefined
const tokenHeader = config.tokenHeader ?? 'x-keyhole-token'
let next = config.tokenOffset ?? 0
const firstToken = next

function requests() {
  if (!tokens) return undefined
  const burst = config.tokenMode === 'burst' ? config.connections : 1
  return [
    {
      setupRequest(request) {
        const token = tokens[Math.floor(next++ / burst) % tokens.length]
        request.headers = { ...request.headers, [tokenHeader]: token }
        return request
      },
    },
  ]
}

function run(options, record) {
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: config.url,
        method: config.method ?? 'GET',
        connections: config.connections,
        pipelining: 1,
        headers: config.headers ?? {},
        requests: requests(),
        timeout: 30,
        ...(config.overallRate && { overallRate: config.overallRate }),
        ...options,
      },
      (error, result) => (error ? reject(error) : resolve(result)),
    )
    if (record) instance.on('response', record)
  })
}

if (config.warmup > 0) await run({ duration: config.warmup })

const latencies = []
let non2xx = 0
const started = performance.now()
const result = await run(
  config.amount ? { amount: config.amount } : { duration: config.duration },
  (_c, status, _b, ms) => {
    if (status >= 200 && status < 300) latencies.push(ms)
    else non2xx++
  },
)
const seconds = (performance.now() - started) / 1000
latencies.sort((a, b) => a - b)
const at = (q) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0
process.stdout.write(
  `${JSON.stringify({
    requests: latencies.length,
    seconds,
    rps: latencies.length / seconds,
    non2xx,
    errors: result.errors + result.timeouts,
    tokensUsed: next - firstToken,
    latency: {
      p50: at(0.5),
      p90: at(0.9),
      p99: at(0.99),
      mean: latencies.reduce((a, b) => a + b, 0) / (latencies.length || 1),
    },
  })}\n`,
)
