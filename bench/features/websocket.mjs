// Rows 5c and 5d of bench/features.mjs: WebSocket echo round trips through keyhole against a
// direct connection to the same `ws` echo server, in the same run. Three processes of their own
// (websocket-upstream.mjs, websocket-server.mjs, websocket-client.mjs), started and stopped here
// so the other rows' processes are not disturbed.
//   5c  ws:// through keyhole's open mode (`createUpgradeHandler` on the server's `upgrade` event,
//       X-Keyhole-Token, a header credential injected into the handshake) vs ws:// direct
//   5d  wss:// through keyhole's forward proxy (CONNECT, TLS terminated with a keyhole leaf, the
//       same upgrade handler inside the tunnel, wss:// to the upstream) vs wss:// direct
// Each row: per-message round-trip p50/p99 for a 32-byte and a 16 KiB text message (one
// connection per side, held open; sides alternate in blocks), and the connection-setup time.
// Env: KEYHOLE_BENCH_WS_MESSAGES (timed messages per side and size, default 3000),
// KEYHOLE_BENCH_WS_CONNECTIONS (timed connection setups per side, default 100).
import crypto from 'node:crypto'

// Two message sizes; KEYHOLE_BENCH_WS_SIZES="32,16000" (bytes) swaps them, for diagnosis only.
const SIZES = (process.env.KEYHOLE_BENCH_WS_SIZES?.split(',').map(Number) ?? [32, 16 * 1024]).map(
  (bytes) => ({
    bytes,
    label: bytes === 16 * 1024 ? '16 KiB' : `${bytes} B`,
  }),
)
const BATCH = 10 // messages per alternating block
const WARM_BLOCKS = 20 // bench/lib/alternating.mjs's unrecorded warm-up samples per side
// Expected time of one round-trip run (both sides); a slower side gets fewer messages.
const RUN_BUDGET_MS = 6000
const ms = (x) => x.toFixed(3)
const plus = (x) => `${x >= 0 ? '+' : ''}${x.toFixed(3)}`

/**
 * Runs rows 5c and 5d. `signed(grant)` mints a token the proxy trusts (features.mjs's issuer);
 * `files` are the key, issuer, certificate and CA files the other rows' proxy reads; `caPem` is
 * the keyhole CA's certificate, trusted by the client inside CONNECT tunnels. Answers
 * { rows, details, notes } in features.mjs's shapes.
 */
export async function websocketRows({ start, signed, files, caPem, certPem, quick, log }) {
  const messages = Number(process.env.KEYHOLE_BENCH_WS_MESSAGES ?? (quick ? 500 : 3000))
  const connections = Number(process.env.KEYHOLE_BENCH_WS_CONNECTIONS ?? (quick ? 30 : 100))
  const upstream = await start('websocket-upstream.mjs')
  // KEYHOLE_BENCH_WS_SCRUB=0 runs keyhole with `scrub: false` (to tell the frame scrubber's share).
  const scrub = process.env.KEYHOLE_BENCH_WS_SCRUB !== '0'
  const proxy = await start('websocket-server.mjs', [JSON.stringify({ ...files, scrub })])
  const client = await start('websocket-client.mjs')
  try {
    const wsHost = `127.0.0.1:${upstream.port}`
    const wssHost = `127.0.0.1:${upstream.tlsPort}`
    const credential = {
      type: 'header',
      name: 'Authorization',
      value: `Bearer sk-bench-ws-${crypto.randomBytes(12).toString('hex')}`,
    }
    const wsToken = await signed({ hosts: [`http://${wsHost}`], inject: [credential], ttl: '1h' })
    const wssToken = await signed({ hosts: [`https://${wssHost}`], inject: [credential], ttl: '1h' })
    const sides = {
      direct: { url: `ws://${wsHost}` },
      open: {
        url: `ws://127.0.0.1:${proxy.port}/http/${wsHost}`,
        headers: { 'x-keyhole-token': wsToken },
      },
      directTls: { url: `wss://${wssHost}`, ca: certPem },
      forward: { url: `wss://${wssHost}`, proxy: { port: proxy.port, token: wssToken, ca: caPem } },
    }
    await sanityChecks(client, sides)

    const rows = []
    const details = []
    for (const [n, a, b, what] of [
      ['5c', 'direct', 'open', 'ws:// through keyhole, open mode'],
      ['5d', 'directTls', 'forward', 'wss:// through keyhole, forward proxy (CONNECT)'],
    ]) {
      log(`row ${n}: WebSocket echo, ${what} vs direct`)
      const result = { sizes: [], setup: undefined }
      for (const size of SIZES) {
        const before = await proxy.ask('stats')
        const r = await client.ask('rtt', {
          a: sides[a],
          b: sides[b],
          bytes: size.bytes,
          messages,
          batch: BATCH,
          budgetMs: RUN_BUDGET_MS,
        })
        const after = await proxy.ask('stats')
        const cpu = after.cpu.user + after.cpu.system - before.cpu.user - before.cpu.system
        // Every message of the keyhole side, warm-up included, crossed the proxy; the direct side's did not.
        result.sizes.push({ ...size, ...r, cpuPerMessage: cpu / r.sent })
        log(
          `row ${n}: ${size.label} p50 ${ms(r.b.p50)} ms vs ${ms(r.a.p50)} ms direct, p99 ${ms(r.b.p99)} vs ${ms(r.a.p99)}`,
        )
      }
      result.setup = await client.ask('setup', { a: sides[a], b: sides[b], samples: connections })
      log(`row ${n}: setup p50 ${ms(result.setup.b.p50)} ms vs ${ms(result.setup.a.p50)} ms direct`)
      rows.push(row(n, a === 'direct', result, messages, connections, scrub))
      details.push({ n, text: detail(n, a === 'direct', result) })
    }
    const { handshakes } = await upstream.ask('stats')
    return {
      rows,
      details,
      notes: [
        `- Rows 5c, 5d: a \`ws\` 8 echo server (WebSocketServer, no permessage-deflate) on a \`node:http\` and a \`node:https\` server
  (the test certificate) in a process of its own; keyhole in another, wired as \`keyhole serve\` wires it: one engine's
  options (createNodeOpener, ${scrub ? '`scrub: true` (the default), so every frame from the upstream is searched' : '`scrub: false` (KEYHOLE_BENCH_WS_SCRUB=0)'}) give
  \`createUpgradeHandler\` on the server's \`upgrade\` event (open mode) and, through \`attachForwardProxy\` with a keyhole CA,
  inside CONNECT tunnels; the \`ws\` client in a third. Each token is ES256-signed and injects
  \`Authorization: Bearer …\` into the upstream handshake (checked before timing, as is a 401 without a token). Round
  trips: one connection per side opened before timing, then a text message sent and its echo awaited, one at a time;
  the sides alternate in blocks of ${BATCH} messages (A B B A …, after ${WARM_BLOCKS} unrecorded blocks each),
  ${messages} timed messages per side and size (fewer, in blocks of 1, where a run would take over ${RUN_BUDGET_MS / 1000} s: see
  "Every run"); p50/p99 are over single messages. Setup: ${connections} new connections per side,
  alternating, each timed from \`new WebSocket()\` to \`open\` (TCP, for 5d the CONNECT and the TLS handshake with the
  keyhole leaf, the upgrade, keyhole's own dial and handshake upstream, the 101); the close that follows is not timed.
  The upstream saw ${handshakes} handshakes in all.`,
      ],
    }
  } finally {
    await Promise.all([client.stop(), proxy.stop(), upstream.stop()])
  }
}

async function sanityChecks(client, sides) {
  const expect = (what, ok) => {
    if (!ok) throw new Error(`WebSocket sanity check failed: ${what}`)
  }
  const report = async (side) => {
    const r = await client.ask('handshake', { side })
    expect(`upgrade answered ${r.status}`, r.status === 101)
    return JSON.parse(r.message)
  }
  const direct = await report(sides.direct)
  expect('direct: no credential', direct.scheme === '')
  for (const name of ['open', 'forward']) {
    const seen = await report(sides[name])
    expect(`${name}: Bearer credential injected`, seen.scheme === 'Bearer')
    expect(`${name}: token stripped`, !seen.token && !seen.proxyAuthorization)
    expect(`${name}: no extension offered upstream`, seen.extensions === null)
  }
  const refused = await client.ask('handshake', { side: { url: sides.open.url } })
  expect(`no token: ${refused.status}, not 401`, refused.status === 401)
}

function row(n, plain, result, messages, connections, scrub) {
  const side = (k) =>
    [
      ...result.sizes.map((s) => `${s.label}: p50 ${ms(s[k].p50)} ms, p99 ${ms(s[k].p99)}`),
      `setup p50 ${ms(result.setup[k].p50)} ms`,
    ].join('; ')
  const added = (label, a, b) => `${label}: ${plus(b.p50 - a.p50)} ms p50 (${(b.p50 / a.p50).toFixed(2)}×)`
  const frames = scrub ? 'frames scrubbed' : '`scrub: false`'
  const timed = result.sizes.map((s) => s.a.n)
  const each = timed.every((x) => x === messages) ? `${messages}` : `${timed.join(', ')} respectively`
  const counts = `round trip per message (${each} per side and size) and connection setup (${connections} per side)`
  // Messages longer than one TLS record (16 KiB) reach keyhole in two chunks; ~40 ms is the
  // signature of Nagle's algorithm waiting for a delayed ACK, and the reader should be told so.
  const stalled = result.sizes.filter((s) => s.b.p50 - s.a.p50 >= 20)
  return {
    n,
    measure: plain
      ? `WebSocket echo through keyhole, open mode (\`ws://proxy/http/host/…\`, \`createUpgradeHandler\`, header credential injected at the upgrade, ${frames}) vs \`ws://\` direct to the same echo server; ${counts}`
      : `WebSocket echo through keyhole's forward proxy (\`wss://\` inside a CONNECT tunnel, TLS terminated with a keyhole leaf, \`wss://\` upstream, ${frames}) vs \`wss://\` direct to the same echo server; ${counts}`,
    figure: side('b'),
    baseline: side('a'),
    ratio: [
      ...result.sizes.map((s) => `${added(s.label, s.a, s.b)}, ${plus(s.b.p99 - s.a.p99)} ms p99`),
      added('setup', result.setup.a, result.setup.b),
    ].join('; '),
    target: 'reported',
    met: 'reported',
    note: stalled.length
      ? ` ${stalled.map((s) => s.label).join(', ')} through keyhole: p50 ${stalled.map((s) => ms(s.b.p50)).join(', ')} ms, the ~40 ms of Nagle's algorithm waiting for a delayed ACK: a message longer than one TLS record reaches keyhole in two chunks, written upstream in two writes, and keyhole's socket to a \`wss://\` upstream had no TCP_NODELAY when this was written (on Node 20, \`tls.connect\` and https agents never set it, whatever their \`noDelay\`; the \`ws://\` upstream socket has it). A diagnostic run with TCP_NODELAY forced on every \`tls.connect\` socket (a preloaded patch) gave 0.8 ms here.`
      : '',
  }
}

function detail(n, plain, result) {
  const [direct, through] = plain
    ? ['ws:// direct', 'ws:// through keyhole (open mode)']
    : ['wss:// direct', 'wss:// through keyhole (CONNECT)']
  const lines = [
    `Row ${n} — WebSocket echo, ${through} vs ${direct} (ms; "block mean": the median over the alternating blocks of their mean round trip, with the messages per block; proxy CPU over the keyhole side's messages, warm-up included):`,
    '',
    '| side | message | messages | p50 | p90 | p99 | max | block mean (per block) | proxy CPU µs/msg |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|',
  ]
  for (const s of result.sizes) {
    for (const [label, q, block, cpu] of [
      [direct, s.a, s.blocks.a, '—'],
      [through, s.b, s.blocks.b, s.cpuPerMessage.toFixed(0)],
    ]) {
      lines.push(
        `| ${label} | ${s.label} | ${q.n} | ${ms(q.p50)} | ${ms(q.p90)} | ${ms(q.p99)} | ${ms(q.max)} | ${ms(block)} (${s.batch}) | ${cpu} |`,
      )
    }
  }
  lines.push(
    '',
    '| side | connection setup | connections | p50 | p90 | p99 | max |',
    '|---|---|---:|---:|---:|---:|---:|',
  )
  for (const [label, q] of [
    [direct, result.setup.a],
    [through, result.setup.b],
  ]) {
    lines.push(
      `| ${label} | \`new WebSocket()\` → open | ${q.n} | ${ms(q.p50)} | ${ms(q.p90)} | ${ms(q.p99)} | ${ms(q.max)} |`,
    )
  }
  return lines.join('\n')
}

/** The rows alone, as features.mjs's table prints them (for FEATURES_ONLY=ws). */
export function websocketMarkdown({ rows, details, notes }) {
  const table = [
    '| # | measure | with the feature | without (baseline) | ratio (medians) | target | met? |',
    '|---|---|---|---|---|---|---|',
    ...rows.map(
      (r) => `| ${r.n} | ${r.measure} | ${r.figure} | ${r.baseline} | ${r.ratio} | ${r.target} | ${r.met} |`,
    ),
  ]
  const rowNotes = rows.filter((r) => r.note).map((r) => `- Row ${r.n}:${r.note}`)
  return [table.join('\n'), [...rowNotes, ...notes].join('\n'), ...details.map((d) => d.text)].join('\n\n')
}
