// The figures and verdicts of bench/proxy.mjs, from what it measured: `figures(data)` derives the
// medians and ratios of whichever rows ran, `summaryRows(data)` the table rows (measure, figure,
// baseline, ratio, target, met). bench/proxy/report.mjs writes the full report from both.

export const MB = 1024 * 1024
export const median = (list) => {
  const s = [...list].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}
export const int = (n) => Math.round(n).toLocaleString('en-US')
export const ms = (n) => (n < 10 ? n.toFixed(3) : n.toFixed(1))
export const x = (n) => `${n.toFixed(2)}×`
export const pct = (n) => `${(n * 100).toFixed(0)}%`
const signedMs = (n) => `${n >= 0 ? '+' : '−'}${ms(Math.abs(n))}`

/** Targets of the rows that are not plain ratios written into the text. */
export const TARGETS = {
  row3: 3, // fresh-token req/s, keyhole serve ÷ Hono + jose
  row3b: 1.3, // uncached open CPU ÷ its raw node:crypto primitives, at most
  row3c: 0.3, // fresh-token p50 − reused-token p50 at concurrency 1, ms, at most
  row7: 5 * MB, // peak RSS growth over the bare pipe's, same direction, at most
}

/** The medians and ratios of the rows in `data.results` (a missing row leaves its fields undefined). */
export function figures(data) {
  const { results } = data
  const rps = (runs) => median(runs.map((r) => r.rps))
  const cpu = (runs) => median(runs.map((r) => r.cpuPerRequest))
  const f = { rps, cpu }
  if (results.row1) f.r1 = { kh: rps(results.row1[0]), base: rps(results.row1[1]) }
  if (results.row2) f.r2 = { kh: rps(results.row2[0]), base: rps(results.row2[1]) }
  if (results.row3) {
    f.r3 = {
      kh: rps(results.row3[0]),
      base: rps(results.row3[1]),
      khNode: rps(results.row3[2]),
      joseNode: rps(results.row3[3]),
      inlineOn: results.row3[4] ? rps(results.row3[4]) : undefined,
      inlineOff: results.row3[5] ? rps(results.row3[5]) : undefined,
      floor: results.row3[6] ? rps(results.row3[6]) : undefined,
    }
    f.r3.ratio = f.r3.kh / f.r3.base
  }
  if (results.row3b) {
    // Per curve; each round's open and raw ran back to back, so the median of the rounds' own
    // ratios pairs like with like.
    f.r3b = Object.entries(results.row3b.samples).map(([name, s]) => ({
      name,
      raw: median(s.raw),
      open: median(s.open),
      jose: s.jose ? median(s.jose) : undefined,
      ratio: median(s.open) / median(s.raw),
      pairedRatio: median(s.open.map((o, i) => o / s.raw[i])),
    }))
  }
  if (results.row3c) {
    // Sides: [fresh, reused] per curve, in the order bench/proxy.mjs runs them.
    const at = (i, key) => median(results.row3c[i].map((r) => r[key]))
    f.r3c = ['P-256/ES256', 'X25519/EdDSA'].map((name, c) => ({
      name,
      freshP50: at(2 * c, 'p50'),
      reusedP50: at(2 * c + 1, 'p50'),
      freshP99: at(2 * c, 'p99'),
      reusedP99: at(2 * c + 1, 'p99'),
      freshRps: rps(results.row3c[2 * c]),
      reusedRps: rps(results.row3c[2 * c + 1]),
      diffP50: at(2 * c, 'p50') - at(2 * c + 1, 'p50'),
      diffP99: at(2 * c, 'p99') - at(2 * c + 1, 'p99'),
    }))
    // What the crypto alone adds at c=1 (P-256): the crypto floor's p50 over the bare pass-through's.
    if (results.row3c[5]) {
      f.r3cFloor = { floorP50: at(4, 'p50'), bareP50: at(5, 'p50'), added: at(4, 'p50') - at(5, 'p50') }
    }
  }
  if (results.row5) {
    const c32 = data.config.CONNECTIONS
    f.lat = (c, side, key) => median(results.row5[c][side].map((r) => r[key]))
    f.added = (c, key) => f.lat(c, 0, key) - f.lat(c, 1, key)
    f.addedBare = (c, key) => f.lat(c, 2, key) - f.lat(c, 1, key)
    f.c32 = c32
  }
  if (results.row7) {
    // Per server and direction: the median of its transfers (peak RSS depends on when the garbage
    // collector happens to run, so one transfer is one draw). Each keyhole median is held to the
    // bare pipe's median in the same direction; the row takes the largest excess.
    const groups = []
    for (const r of results.row7) {
      let g = groups.find((x) => x.kind === r.kind && x.direction === r.direction)
      if (!g) {
        g = { kind: r.kind, direction: r.direction, growths: [] }
        groups.push(g)
      }
      g.growths.push(r.growth)
    }
    for (const g of groups) g.median = median(g.growths)
    const bare = (direction) => groups.find((g) => g.kind === 'bare-node' && g.direction === direction)
    const keyhole = groups.filter((g) => g.kind !== 'bare-node')
    for (const g of keyhole) g.excess = g.median - (bare(g.direction)?.median ?? 0)
    const worst = keyhole.reduce((a, g) => (g.excess > a.excess ? g : a), keyhole[0])
    f.r7 = {
      groups,
      keyhole,
      bare,
      worst,
      worstMedian: Math.max(...keyhole.map((g) => g.median)),
      max: Math.max(...keyhole.flatMap((g) => g.growths)),
    }
  }
  return f
}

/** The summary table's rows for the rows that ran: { n, measure, figure, baseline, ratio, target, met, note }. */
export function summaryRows(data, f = figures(data)) {
  const { results } = data
  const CONNECTIONS = data.config.CONNECTIONS
  const short = (ratio, target) =>
    ratio >= target ? '' : ` (${((1 - ratio / target) * 100).toFixed(1)}% short)`
  const signedMB = (bytes) => `${bytes >= 0 ? '+' : ''}${(bytes / MB).toFixed(1)} MB`
  const rows = []
  if (f.r1) {
    const ratio = f.r1.kh / f.r1.base
    rows.push({
      n: 1,
      measure: 'req/s, Hono adapter on @hono/node-server, one reused token, 32 connections',
      figure: `${int(f.r1.kh)} req/s`,
      baseline: `${int(f.r1.base)} req/s (bare node:http + keep-alive Agent)`,
      ratio: x(ratio),
      target: '≥ 0.85×',
      met: ratio >= 0.85,
      note: short(ratio, 0.85),
    })
  }
  if (f.r2) {
    const ratio = f.r2.kh / f.r2.base
    rows.push({
      n: 2,
      measure: 'req/s, Express adapter, one reused token, 32 connections',
      figure: `${int(f.r2.kh)} req/s`,
      baseline: `${int(f.r2.base)} req/s (Express 5 + fetch + pipeline(Readable.fromWeb))`,
      ratio: x(ratio),
      target: '≥ 1.0×',
      met: ratio >= 1,
      note: short(ratio, 1),
    })
  }
  if (f.r3) {
    const threads = data.config.threads ?? 2
    rows.push({
      n: 3,
      measure: `req/s, a fresh signed token (P-256, ES256 issuer) on every request, 32 connections: \`keyhole serve\` (decrypt pool of ${threads} threads)`,
      figure: `${int(f.r3.kh)} req/s (keyhole with the open on the event loop: ${int(f.r3.khNode)})`,
      baseline: `${int(f.r3.base)} req/s (Hono on @hono/node-server + jose compactDecrypt and jwtVerify per request, node forwarder); node:http + jose ${int(f.r3.joseNode)} req/s${f.r3.floor ? `; crypto floor (node:http + the raw node:crypto open on the event loop, no checks) ${int(f.r3.floor)} req/s = ${x(f.r3.floor / f.r3.base)} the baseline` : ''}`,
      ratio: `${x(f.r3.ratio)} (event loop ${x(f.r3.khNode / f.r3.base)}; vs node:http + jose ${x(f.r3.kh / f.r3.joseNode)})${f.r3.inlineOn ? `; pool inline on ÷ off ${x(f.r3.inlineOn / f.r3.inlineOff)}` : ''}`,
      target: `≥ ${TARGETS.row3}×`,
      met: f.r3.ratio >= TARGETS.row3,
      note: short(f.r3.ratio, TARGETS.row3),
    })
  }
  if (f.r3b) {
    const over = f.r3b.filter((c) => c.ratio > TARGETS.row3b)
    rows.push({
      n: '3b',
      measure:
        'CPU of one uncached open (createNodeOpener, cache off) vs its raw node:crypto primitives (ECDH, KDF, key unwrap, AES-GCM, signature verify), per curve',
      figure: f.r3b.map((c) => `${c.name}: open ${int(c.open)} µs`).join('; '),
      baseline: f.r3b
        .map(
          (c) =>
            `${c.name}: raw ${int(c.raw)} µs${c.jose ? `, jose decrypt + verify ${int(c.jose)} µs` : ''}`,
        )
        .join('; '),
      ratio: f.r3b.map((c) => `${c.name} ${x(c.ratio)} (paired ${x(c.pairedRatio)})`).join('; '),
      target: `≤ ${TARGETS.row3b}× each`,
      met: over.length === 0,
      note: over
        .map((c) => ` (${c.name} ${((c.ratio / TARGETS.row3b - 1) * 100).toFixed(1)}% over)`)
        .join(''),
    })
  }
  if (f.r3c) {
    const over = f.r3c.filter((c) => c.diffP50 > TARGETS.row3c)
    rows.push({
      n: '3c',
      measure:
        'p50 (p99) at concurrency 1 through `keyhole serve`, a fresh token per request vs one reused token, per curve',
      figure: f.r3c.map((c) => `${c.name}: fresh ${ms(c.freshP50)} (${ms(c.freshP99)}) ms`).join('; '),
      baseline: f.r3c.map((c) => `${c.name}: reused ${ms(c.reusedP50)} (${ms(c.reusedP99)}) ms`).join('; '),
      ratio:
        f.r3c.map((c) => `${c.name} ${signedMs(c.diffP50)} ms (p99 ${signedMs(c.diffP99)} ms)`).join('; ') +
        (f.r3cFloor
          ? `; the P-256/ES256 crypto alone adds ${signedMs(f.r3cFloor.added)} ms (crypto floor ${ms(f.r3cFloor.floorP50)} vs bare node:http ${ms(f.r3cFloor.bareP50)} ms)`
          : ''),
      target: `p50 ≤ +${TARGETS.row3c} ms each`,
      met: over.length === 0,
      note: over.map((c) => ` (${c.name} ${ms(c.diffP50 - TARGETS.row3c)} ms over)`).join(''),
    })
  }
  if (results.row4) {
    const row4 = results.row4
    rows.push({
      n: 4,
      measure:
        'cold cache: 50 distinct tokens, 32 connections (bursts of 32 concurrent requests per token; and cycled)',
      figure: row4.map((r) => `${r.decryptions} decryptions (${r.mode})`).join('; '),
      baseline: `${row4.map((r) => `${int(r.requests)}`).join(' / ')} requests`,
      ratio: row4.map((r) => `${r.decryptions}/50`).join('; '),
      target: 'exactly 50',
      met: row4.every((r) => r.decryptions === 50),
      note: '',
    })
  }
  if (f.lat) {
    const { added, addedBare, lat } = f
    rows.push({
      n: 5,
      measure: 'added latency over direct-to-upstream (Hono, one token), p50 / p99',
      figure: `c=1: +${ms(added(1, 'p50'))} / +${ms(added(1, 'p99'))} ms; c=32: +${ms(added(CONNECTIONS, 'p50'))} / +${ms(added(CONNECTIONS, 'p99'))} ms`,
      baseline: `direct c=1: ${ms(lat(1, 1, 'p50'))} / ${ms(lat(1, 1, 'p99'))} ms; c=32: ${ms(lat(CONNECTIONS, 1, 'p50'))} / ${ms(lat(CONNECTIONS, 1, 'p99'))} ms. A bare node:http pass-through adds c=1: +${ms(addedBare(1, 'p50'))} / +${ms(addedBare(1, 'p99'))} ms; c=32: +${ms(addedBare(CONNECTIONS, 'p50'))} / +${ms(addedBare(CONNECTIONS, 'p99'))} ms`,
      ratio: `p50 at c=1: +${ms(added(1, 'p50'))} ms`,
      target: 'reported; p50 at c=1 ≤ +0.5 ms',
      met: added(1, 'p50') <= 0.5,
      note: added(1, 'p50') <= 0.5 ? '' : ` (${ms(added(1, 'p50') - 0.5)} ms over)`,
    })
  }
  if (results.row6 && results.row6b) {
    const { row6, row6b } = results
    const settle = data.config.SETTLE_MS / 1000
    rows.push({
      n: 6,
      measure: `memory: ${int(row6.tokens)} distinct tokens through the proxy; ${int(row6b.count)} revoked jtis in the memory store`,
      figure: `RSS after GC ${signedMB(row6.endRss - row6.startRss)} right after the run, ${signedMB(row6.settledRss - row6.startRss)} after ${settle} s idle; cache ${int(row6.cacheSize)} entries; revocations heap +${(row6b.heapDelta / MB).toFixed(0)} MB`,
      baseline: `RSS after GC at the start, ${(row6.startRss / MB).toFixed(0)} MB; heap before the revocations`,
      ratio: `cache ${int(row6.cacheSize)}/${int(row6.cacheBound)}; ${(row6b.heapDelta / MB).toFixed(0)}/150 MB`,
      target: 'cache ≤ bound, RSS within 50 MB; revocations ≤ 150 MB',
      met:
        row6.cacheSize <= row6.cacheBound &&
        row6.endRss - row6.startRss <= 50 * MB &&
        row6b.heapDelta <= 150 * MB,
      note:
        row6.endRss - row6.startRss <= 50 * MB
          ? ''
          : ` (RSS right after the run ${((row6.endRss - row6.startRss) / MB - 50).toFixed(1)} MB over${row6.settledRss - row6.startRss <= 50 * MB ? '; within it once settled' : ''})`,
    })
  }
  if (f.r7) {
    const { worst, bare, keyhole, max } = f.r7
    const mb = (n) => (n / MB).toFixed(1)
    const met = worst.excess <= TARGETS.row7
    rows.push({
      n: 7,
      measure:
        '100 MB body through the proxy each way (Hono and Express adapters): peak RSS growth against a bare node:http pipe, same direction',
      figure: `${keyhole.map((g) => `${g.kind.replace('keyhole-', '')} ${g.direction} ${mb(g.median)} MB`).join(', ')} (medians; largest single transfer ${mb(max)} MB)`,
      baseline: `bare node:http pass-through: upload ${mb(bare('upload')?.median ?? 0)} MB, download ${mb(bare('download')?.median ?? 0)} MB`,
      ratio: `${keyhole.map((g) => `${g.kind.replace('keyhole-', '')} ${g.direction} ${signedMB(g.excess)}`).join(', ')} vs the bare pipe (worst: ${worst.kind.replace('keyhole-', '')} ${worst.direction})`,
      target: `≤ bare + ${TARGETS.row7 / MB} MB`,
      met,
      note: met ? '' : ` (${mb(worst.excess - TARGETS.row7)} MB over)`,
    })
  }
  return rows
}
