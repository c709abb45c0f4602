// The load generator and clients of bench/features.mjs, in a process of their own so their CPU
// never shares the proxy's event loop. Forked; answers IPC requests { op, id, ...args }:
//   'autocannon'  { url, method?, headers, body?, connections, warm, seconds }
//                 autocannon over keep-alive connections, as bench/proxy/load.mjs drives it
//   'undici'      { url, method?, headers, body?, connections, warm, seconds, proofs?, proxy? }
//                 `connections` loops, each awaiting one request at a time, over one undici
//                 dispatcher (a keep-alive Pool, or with `proxy: { uri, token, ca }` a ProxyAgent
//                 whose CONNECT tunnels are reused). With `proofs: { token, htu, count }`, `count`
//                 proofs are signed BEFORE the run (createProof with this process's proof key) and
//                 each request takes a fresh one; the run ends early if they run out.
//   'proof-key'   generates this process's proof key (generateProofKey), answers its publicJwk
//   'sign-cost'   { token, htu, samples, batch }: µs per createProof, median of the samples
//   'download'    { url, headers }: reads the whole body, answers { bytes, seconds }
//   'sse'         { url, headers }: reads an event stream; answers each event's delay (arrival
//                 time minus the send time the upstream wrote into it, ms, both
//                 performance.timeOrigin + performance.now())
//   'first'       { proxy: { uri, token, ca }, url }: one request through a NEW ProxyAgent (a new
//                 CONNECT tunnel and TLS handshake), answers { ms, status }
// Every run answers { requests, seconds, rps, failed, p50 } (latency in ms).
import { createProof, generateProofKey } from '@keyhole/client'
import autocannon from 'autocannon'
import { Pool, ProxyAgent } from 'undici'

let proofKey
const now = () => performance.timeOrigin + performance.now()
const median = (list) => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)] ?? 0

function autocannonRun(c, seconds, record) {
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: c.url,
        method: c.method ?? 'GET',
        connections: c.connections,
        pipelining: 1,
        headers: c.headers ?? {},
        ...(c.body !== undefined && { body: c.body }),
        timeout: 30,
        duration: seconds,
      },
      (error, result) => (error ? reject(error) : resolve(result)),
    )
    if (record) instance.on('response', record)
  })
}

async function autocannonOp(c) {
  if (c.warm > 0) await autocannonRun(c, c.warm)
  const latencies = []
  let failed = 0
  const started = performance.now()
  const result = await autocannonRun(c, c.seconds, (_client, status, _bytes, ms) => {
    if (status >= 200 && status < 300) latencies.push(ms)
    else failed++
  })
  const seconds = (performance.now() - started) / 1000
  return {
    requests: latencies.length,
    seconds,
    rps: latencies.length / seconds,
    failed: failed + result.errors + result.timeouts,
    p50: median(latencies),
  }
}

function dispatcherFor(c) {
  const url = new URL(c.url)
  if (c.proxy) {
    return new ProxyAgent({
      uri: c.proxy.uri,
      token: `Bearer ${c.proxy.token}`,
      requestTls: { ca: c.proxy.ca },
      connections: c.connections,
      keepAliveTimeout: 60_000,
    })
  }
  return new Pool(url.origin, { connections: c.connections, keepAliveTimeout: 60_000 })
}

/** `connections` loops of one awaited request each, for `seconds` (or until the proofs run out). */
async function undiciLoops(dispatcher, c, seconds, proofs) {
  const url = new URL(c.url)
  const latencies = []
  let failed = 0
  let exhausted = false
  const started = performance.now()
  const deadline = started + seconds * 1000
  const loop = async () => {
    while (performance.now() < deadline) {
      let headers = c.headers
      if (proofs) {
        const proof = proofs.pop()
        if (proof === undefined) {
          exhausted = true
          return
        }
        headers = { ...headers, 'keyhole-proof': proof }
      }
      const t0 = performance.now()
      try {
        const res = await dispatcher.request({
          origin: url.origin,
          path: url.pathname + url.search,
          method: c.method ?? 'GET',
          headers,
          body: c.body,
        })
        await res.body.dump({ limit: Number.POSITIVE_INFINITY })
        if (res.statusCode >= 200 && res.statusCode < 300) latencies.push(performance.now() - t0)
        else failed++
      } catch {
        failed++
      }
    }
  }
  await Promise.all(Array.from({ length: c.connections }, loop))
  const elapsed = (performance.now() - started) / 1000
  return {
    requests: latencies.length,
    seconds: elapsed,
    rps: latencies.length / elapsed,
    failed,
    p50: median(latencies),
    exhausted,
  }
}

async function signProofs(p, count) {
  const list = new Array(count)
  for (let i = 0; i < count; i++)
    list[i] = await createProof(proofKey, { method: p.method ?? 'GET', url: p.htu, token: p.token })
  return list
}

async function undiciOp(c) {
  const dispatcher = dispatcherFor(c)
  try {
    let proofMs
    let warmProofs
    let proofs
    if (c.proofs) {
      // Signed before the run (each is single-use and good for 60 s), warm-up's and run's apart.
      const started = performance.now()
      warmProofs = await signProofs(
        c.proofs,
        Math.ceil(c.proofs.count * (c.warm / c.seconds)) + c.connections,
      )
      proofs = await signProofs(c.proofs, c.proofs.count)
      proofMs = performance.now() - started
    }
    if (c.warm > 0) await undiciLoops(dispatcher, c, c.warm, warmProofs)
    const result = await undiciLoops(dispatcher, c, c.seconds, proofs)
    return { ...result, ...(proofMs !== undefined && { proofMs, proofsLeft: proofs.length }) }
  } finally {
    await dispatcher.close()
  }
}

async function signCost(c) {
  const samples = []
  for (let s = 0; s < c.samples + 10; s++) {
    const t0 = performance.now()
    for (let i = 0; i < c.batch; i++)
      await createProof(proofKey, { method: 'GET', url: c.htu, token: c.token })
    if (s >= 10) samples.push(((performance.now() - t0) / c.batch) * 1000)
  }
  return { us: median(samples) }
}

async function download(c) {
  const url = new URL(c.url)
  const pool = new Pool(url.origin, { connections: 1 })
  try {
    const started = performance.now()
    const res = await pool.request({
      origin: url.origin,
      path: url.pathname + url.search,
      method: 'GET',
      headers: c.headers,
    })
    let bytes = 0
    for await (const chunk of res.body) bytes += chunk.length
    return { status: res.statusCode, bytes, seconds: (performance.now() - started) / 1000 }
  } finally {
    await pool.close()
  }
}

async function sse(c) {
  const url = new URL(c.url)
  const pool = new Pool(url.origin, { connections: 1 })
  try {
    const res = await pool.request({
      origin: url.origin,
      path: url.pathname + url.search,
      method: 'GET',
      headers: c.headers,
    })
    const delays = []
    let buffered = ''
    for await (const chunk of res.body) {
      const arrived = now()
      buffered += chunk.toString()
      let end = buffered.indexOf('\n\n')
      while (end >= 0) {
        const event = buffered.slice(0, end)
        buffered = buffered.slice(end + 2)
        const data = /^data: (.*)$/m.exec(event)?.[1]
        if (data) delays.push(arrived - JSON.parse(data).t)
        end = buffered.indexOf('\n\n')
      }
    }
    return { status: res.statusCode, delays }
  } finally {
    await pool.close()
  }
}

async function first(c) {
  const dispatcher = dispatcherFor({ ...c, connections: 1 })
  try {
    const url = new URL(c.url)
    const t0 = performance.now()
    const res = await dispatcher.request({
      origin: url.origin,
      path: url.pathname,
      method: 'GET',
      headers: c.headers,
    })
    await res.body.dump()
    return { ms: performance.now() - t0, status: res.statusCode }
  } finally {
    await dispatcher.close()
  }
}

const ops = {
  autocannon: autocannonOp,
  undici: undiciOp,
  'proof-key': async () => {
    proofKey = await generateProofKey()
    return { publicJwk: proofKey.publicJwk }
  },
  'sign-cost': signCost,
  download,
  sse,
  first,
}

process.send({ ready: true })
process.on('disconnect', () => process.exit(0))
process.on('message', async (message) => {
  if (message.op === 'exit') process.exit(0)
  try {
    process.send({ id: message.id, result: await ops[message.op](message) })
  } catch (error) {
    process.send({ id: message.id, error: String(error?.stack ?? error) })
  }
})
