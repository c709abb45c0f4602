// The report of the soak (`npm run soak`, test/load/mixed.soak.test.ts): bench/results/soak.md and
// bench/results/soak.svg from the figures the soak saved as JSON, so the report can be written again
// without soaking again:  node bench/soak/report.mjs [bench/soak/last-run.json [earlier runs' JSON...]]
// Earlier runs given after the first are summarised below the table (figures and failures).
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { renderChart } from './chart.mjs'

const root = new URL('../..', import.meta.url).pathname
const input = process.argv[2] ?? join(root, 'bench/soak/last-run.json')
const data = JSON.parse(readFileSync(input, 'utf8'))
const earlier = process.argv.slice(3).map((f) => JSON.parse(readFileSync(f, 'utf8')))
const r = data.report
const m = data.machine
const int = (n) => Math.round(n).toLocaleString('en-US')
const load = (l) => l.map((v) => v.toFixed(1)).join(', ')
const SLOPE_TARGET = 1

const slopeMet = r.rssSlopeMbPerMin < SLOPE_TARGET
const verdict = (ok) => (ok ? 'met' : 'missed')
const minuteS = r.buckets.length > 1 ? r.buckets[1].startS - r.buckets[0].startS : 60
const o = r.outage
const outageMinute = o ? Math.floor(o.downAtS / minuteS) : -1
const outageEndMinute = o ? Math.floor((o.answeringAtS + o.graceS) / minuteS) : -1

const rows = r.buckets.map((b, i) => {
  const mark = i >= outageMinute && i <= outageEndMinute ? ' (store outage)' : ''
  return `| ${i + 1}${mark} | ${int(b.requests)} | ${b.p50Ms.toFixed(1)} | ${b.p99Ms.toFixed(1)} | ${b.maxMs.toFixed(0)} | ${b.loopMaxMs ?? '–'} | ${b.rssMb.toFixed(1)} |`
})
const tail = r.buckets.filter((b) => b.startS >= r.seconds - 300)
const statuses = Object.entries(r.statuses)
  .sort()
  .map(([s, n]) => `${s}: ${int(n)}`)
  .join(', ')

// What went wrong, when anything did: the harness's examples (keyhole 5xx and wrong outcomes with
// their times, forwarder rejections with their reasons) and store lookups that failed outside the outage.
const outside = data.lookupFailures?.outsideOutage ?? []
const failureLines = [
  ...r.examples.map((e) => `- ${e}`),
  ...outside
    .slice(0, 10)
    .map((f) => `- store lookup failed outside the outage at t=${f.atS.toFixed(1)}s: ${f.message}`),
]
const failures =
  r.keyhole5xx + r.wrongOutcomes + r.transportErrors + r.mixups > 0 || outside.length > 0
    ? `What went wrong (first ${failureLines.length}; t = seconds into the measured period):\n\n${failureLines.join('\n')}\n\n`
    : ''

const earlierRuns = earlier.length
  ? `Earlier runs of the same soak on this machine:\n\n${earlier
      .map((e) => {
        const er = e.report
        const worst = Math.max(...er.buckets.map((b) => b.maxMs))
        const p99s = er.buckets.map((b) => b.p99Ms)
        return `- ${e.startedAt}, load average before ${load(e.loadavg.before)}, after ${load(e.loadavg.after)}: ${int(er.requests)} requests, **${er.keyhole5xx} keyhole 5xx outside the outage** (target 0: ${verdict(er.keyhole5xx === 0)}), ${er.storeOutage503} store-outage 503s, ${er.mixups} mix-ups, p99 per minute ${Math.min(...p99s).toFixed(0)}–${Math.max(...p99s).toFixed(0)} ms (max ${worst.toFixed(0)} ms), RSS slope last 5 min ${er.rssSlopeMbPerMin} MB/min (${verdict(er.rssSlopeMbPerMin < SLOPE_TARGET)}). Its 5xx: ${[...new Set(er.examples.filter((x) => x.includes(': keyhole ')))].join('; ')}.`
      })
      .join('\n')}\n\n`
  : ''

const subtitle = [
  `${+(r.seconds / 60).toFixed(2)} min, ${r.concurrency} clients, ${int(r.requests)} requests, ${r.keyhole5xx} keyhole 5xx outside the outage, ${r.mixups} mix-ups; Redis killed at ${o ? `${o.downAtS.toFixed(0)} s, answering again at ${o.answeringAtS.toFixed(1)} s (shaded)` : '—'}`,
  `RSS slope over the last 5 min: ${r.rssSlopeMbPerMin} MB/min (target < ${SLOPE_TARGET}: ${verdict(slopeMet)}); ${m.nproc} × ${m.cpu}, Node ${m.node}; load average ${load(data.loadavg.before)}`,
]

const md = `## soak: ${+(r.seconds / 60).toFixed(2)} minutes of mixed tokens through the proxies, Redis store restarted midway

\`${data.command}\`, then \`node bench/soak/report.mjs\` — ${m.nproc} CPUs (nproc), ${m.cpu}, ${m.memGiB} GiB, Node ${m.node}, ${m.os}; ${m.redis.replace(/ sha=.*/, '')}.
Load average before: ${load(data.loadavg.before)}; after: ${load(data.loadavg.after)} (the machine is shared with other engineers' test runs).
Run started ${data.startedAt}.

${r.concurrency} concurrent clients, one process, send valid (half), expired, revoked, foreign-host
(a decoy-host token towards the upstream, or a valid token towards the decoy), garbage and missing
tokens through all three proxies (core on node:http, Hono, Express) in turn, GET and POST, the token in
\`Authorization\` or \`X-Keyhole-Token\`. Tokens are ECDH-ES/A256GCM JWEs signed by the test issuer (ES256);
${int(1000)} valid tokens with header, query, cookie and API-key credentials. The checking upstream verifies that each
request carries exactly its own token's credentials and body, and itself answers some 500/503s (marked, so
they are not counted against keyhole) and 256 KiB bodies. Every proxy's opener (own grant cache) checks
revocations on every request in one shared \`createRedisStore\` (defaults: 500 ms timeout, no caching
wrapper; a signed token costs two lookups, its \`jti\` and its issuer key) on a private \`redis-server\`
(random port, \`--save ''\`, append-only file in a temporary directory so the 20 revocations survive the
restart). ${
  o
    ? `At ${o.downAtS.toFixed(1)} s the server was killed (SIGKILL), restarted on the same port at ${o.restartedAtS.toFixed(1)} s, and the store answered again at ${o.answeringAtS.toFixed(1)} s. While it is down, requests that need the store fail closed with 503 \`revocation_unavailable\`; those answered between the kill and ${o.graceS} s after the store answered again are counted as store-outage 503s, and any other keyhole-made 5xx (or such a 503 outside that window) counts against the target of 0.`
    : ''
} Latency: from sending the request to the end of the response body, over all kinds of tokens.
RSS: the whole process (clients, proxies, upstream) when each minute closes; the slope is the
least-squares fit over the last ${tail.length} per-minute values.

| minute | requests | p50 ms | p99 ms | max ms | event-loop delay max ms | RSS MB |
|---:|---:|---:|---:|---:|---:|---:|
${rows.join('\n')}

- Requests served: **${int(r.requests)}** (${int(r.requests / r.seconds)}/s; ${int(r.upstreamRequests)} reached the upstream). Statuses: ${statuses}.
- Keyhole-made 5xx outside the store outage: **${r.keyhole5xx}** (target 0: ${verdict(r.keyhole5xx === 0)}). Upstream 5xx passed through: ${int(r.upstream5xx)}.
- Store-outage 503s (\`revocation_unavailable\`, fail closed): **${int(r.storeOutage503)}**${o ? `, in a ${(o.answeringAtS - o.downAtS).toFixed(1)} s outage` : ''}; store errors reported to \`onError\`: ${int(data.storeErrors)}.
- Credential mix-ups: **${r.mixups}** (target 0: ${verdict(r.mixups === 0)}). Wrong outcomes: ${r.wrongOutcomes}; transport errors: ${r.transportErrors}; bad tokens reaching the upstream: ${r.unexpectedUpstream}; decoy requests: ${r.decoyRequests}; secrets in events: ${r.eventLeaks}.
- RSS slope over the last 5 minutes: **${r.rssSlopeMbPerMin >= 0 ? '+' : ''}${r.rssSlopeMbPerMin} MB/min** (target < ${SLOPE_TARGET} MB/min: ${verdict(slopeMet)}). RSS after warm-up and a full GC ${r.rss.startMb.toFixed(1)} MB, peak ${r.rss.peakMb.toFixed(1)} MB, at the end after a full GC ${r.rss.endMb.toFixed(1)} MB; heap after GC ${r.heap.startMb.toFixed(1)} → ${r.heap.endMb.toFixed(1)} MB.

${failures}${earlierRuns}![keyhole soak chart: RSS and p99 over time, the store outage shaded](bench/results/soak.svg)
`

writeFileSync(join(root, 'bench/results/soak.md'), md)
writeFileSync(join(root, 'bench/results/soak.svg'), renderChart({ ...data, subtitle }))
console.log('wrote bench/results/soak.md and bench/results/soak.svg')
