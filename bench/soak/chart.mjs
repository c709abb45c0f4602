// Renders bench/results/soak.svg from the soak's figures (bench/soak/last-run.json): RSS and p99
// latency over the run (per 10 s bucket, with the per-minute values as dots), the store outage
// shaded, and the RSS trend line over the last 5 minutes. Plain SVG, no dependencies; the house
// style of bench/proxy/chart.mjs.

const COLORS = { rss: '#2563eb', p99: '#f59e0b', p50: '#9ca3af', outage: '#fee2e2', trend: '#111827' }
const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')

function text(x, y, body, { size = 12, anchor = 'start', weight = 'normal', fill = '#111827' } = {}) {
  return `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" font-size="${size}" text-anchor="${anchor}" font-weight="${weight}" fill="${fill}">${esc(body)}</text>`
}

function niceMax(value) {
  const p = 10 ** Math.floor(Math.log10(value || 1))
  for (const m of [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (value <= m * p) return m * p
  return 10 * p
}

/**
 * One time-series panel. lines: [{ label, color, points: [[seconds, value]], dots?: [[seconds, value]] }],
 * outage: { from, to } seconds (shaded), trend: { from, to, at(seconds) } (dashed), log: log axis.
 */
function linePanel({ x, y, width, height, title, unit, seconds, lines, outage, trend, log = false }) {
  const out = [text(x, y - 8, title, { size: 13, weight: 'bold' })]
  const left = x + 48
  const plotW = width - 48
  const bottom = y + height
  const all = lines.flatMap((l) => [...l.points, ...(l.dots ?? [])].map((p) => p[1])).filter((v) => v > 0)
  let scale
  if (log) {
    const lo = 10 ** Math.floor(Math.log10(Math.min(...all)))
    const hi = 10 ** Math.ceil(Math.log10(Math.max(...all)))
    const decades = Math.max(1, Math.round(Math.log10(hi / lo)))
    scale = (v) => (Math.log10(Math.max(v, lo) / lo) / decades) * height
    for (let i = 0; i <= decades; i++) {
      const v = lo * 10 ** i
      const yy = bottom - (height * i) / decades
      out.push(
        `<line x1="${left}" y1="${yy.toFixed(1)}" x2="${x + width}" y2="${yy.toFixed(1)}" stroke="#e5e7eb"/>`,
      )
      out.push(
        text(left - 6, yy + 4, v >= 1 ? v.toLocaleString('en-US') : String(+v.toPrecision(1)), {
          size: 10,
          anchor: 'end',
          fill: '#6b7280',
        }),
      )
    }
  } else {
    const max = niceMax(Math.max(...all) * 1.1)
    scale = (v) => (v / max) * height
    for (let i = 0; i <= 4; i++) {
      const v = (max * i) / 4
      const yy = bottom - (height * i) / 4
      out.push(
        `<line x1="${left}" y1="${yy.toFixed(1)}" x2="${x + width}" y2="${yy.toFixed(1)}" stroke="#e5e7eb"/>`,
      )
      out.push(text(left - 6, yy + 4, String(Math.round(v)), { size: 10, anchor: 'end', fill: '#6b7280' }))
    }
  }
  const px = (s) => left + (s / seconds) * plotW
  const py = (v) => bottom - scale(v)
  if (outage) {
    const x1 = px(outage.from)
    const x2 = Math.max(px(outage.to), x1 + 2)
    out.unshift(
      `<rect x="${x1.toFixed(1)}" y="${y}" width="${(x2 - x1).toFixed(1)}" height="${height}" fill="${COLORS.outage}"/>`,
    )
    out.push(text((x1 + x2) / 2, y + 12, 'store down', { size: 10, anchor: 'middle', fill: '#b91c1c' }))
  }
  out.push(text(x, bottom + 16, unit, { size: 10, fill: '#6b7280' }))
  for (let m = 0; m <= seconds / 60; m++) {
    const xx = px(m * 60)
    out.push(
      `<line x1="${xx.toFixed(1)}" y1="${bottom}" x2="${xx.toFixed(1)}" y2="${bottom + 4}" stroke="#374151"/>`,
    )
    out.push(text(xx, bottom + 16, `${m}`, { size: 10, anchor: 'middle', fill: '#6b7280' }))
  }
  out.push(
    text(left + plotW / 2, bottom + 30, 'minutes into the run', {
      size: 10,
      anchor: 'middle',
      fill: '#6b7280',
    }),
  )
  for (const line of lines) {
    const d = line.points
      .map(([s, v], i) => `${i ? 'L' : 'M'}${px(s).toFixed(1)},${py(v).toFixed(1)}`)
      .join(' ')
    out.push(`<path d="${d}" fill="none" stroke="${line.color}" stroke-width="1.8"/>`)
    for (const [s, v] of line.dots ?? [])
      out.push(
        `<circle cx="${px(s).toFixed(1)}" cy="${py(v).toFixed(1)}" r="3" fill="${line.color}" stroke="#ffffff"/>`,
      )
  }
  if (trend) {
    out.push(
      `<line x1="${px(trend.from).toFixed(1)}" y1="${py(trend.at(trend.from)).toFixed(1)}" x2="${px(trend.to).toFixed(1)}" y2="${py(trend.at(trend.to)).toFixed(1)}" stroke="${COLORS.trend}" stroke-width="1.5" stroke-dasharray="5,3"/>`,
    )
  }
  // Legend, top right.
  let lx = x + width
  for (const item of [...lines].reverse().concat(trend ? [] : [])) {
    const w = 12 + item.label.length * 6.2
    lx -= w + 14
    out.push(
      `<rect x="${lx.toFixed(1)}" y="${(y - 18).toFixed(1)}" width="10" height="10" fill="${item.color}"/>`,
    )
    out.push(text(lx + 14, y - 9, item.label, { size: 10 }))
  }
  out.push(`<line x1="${left}" y1="${bottom}" x2="${x + width}" y2="${bottom}" stroke="#374151"/>`)
  return out.join('\n')
}

/**
 * data: the JSON the soak wrote ({ report, machine, ... }); verdicts: { slope, met } for the subtitle.
 */
export function renderChart(data) {
  const r = data.report
  const W = 980
  const seconds = r.seconds
  const fine = r.fineBuckets
  const fineS = fine.length > 1 ? fine[1].startS - fine[0].startS : 10
  const minuteS = r.buckets.length > 1 ? r.buckets[1].startS - r.buckets[0].startS : 60
  const outage = r.outage ? { from: r.outage.downAtS, to: r.outage.answeringAtS } : undefined
  // RSS is taken when a bucket closes; latency is plotted at the bucket's middle.
  const rssPoints = fine.map((b) => [Math.min(seconds, b.startS + fineS), b.rssMb])
  const rssDots = r.buckets.map((b) => [Math.min(seconds, b.startS + minuteS), b.rssMb])
  const tail = r.buckets.filter((b) => b.startS >= seconds - 300)
  const xs = tail.map((b) => (b.startS + minuteS) / 60)
  const ys = tail.map((b) => b.rssMb)
  const mx = xs.reduce((a, b) => a + b, 0) / (xs.length || 1)
  const my = ys.reduce((a, b) => a + b, 0) / (ys.length || 1)
  const trend =
    tail.length >= 2
      ? {
          from: Math.min(seconds, tail[0].startS + minuteS),
          to: Math.min(seconds, tail[tail.length - 1].startS + minuteS),
          at: (s) => my + r.rssSlopeMbPerMin * (s / 60 - mx),
        }
      : undefined
  const parts = []
  parts.push(
    text(20, 28, 'keyhole soak: RSS and latency over time (npm run soak)', { size: 16, weight: 'bold' }),
  )
  for (const [i, line] of (data.subtitle ?? []).entries())
    parts.push(text(20, 46 + i * 15, line, { size: 11, fill: '#4b5563' }))
  parts.push(
    linePanel({
      x: 20,
      y: 104,
      width: W - 40,
      height: 180,
      title: `RSS of the process (MB; line: every ${fineS} s, dots: per minute; dashed: least-squares trend, last 5 min)`,
      unit: 'MB',
      seconds,
      lines: [{ label: 'RSS', color: COLORS.rss, points: rssPoints, dots: rssDots }],
      outage,
      trend,
    }),
  )
  parts.push(
    linePanel({
      x: 20,
      y: 364,
      width: W - 40,
      height: 180,
      title: `Latency through keyhole (ms, log scale; line: per ${fineS} s, dots: per minute)`,
      unit: 'ms',
      seconds,
      log: true,
      lines: [
        {
          label: 'p50',
          color: COLORS.p50,
          points: fine.filter((b) => b.requests > 0).map((b) => [b.startS + fineS / 2, b.p50Ms]),
          dots: r.buckets.map((b) => [b.startS + minuteS / 2, b.p50Ms]),
        },
        {
          label: 'p99',
          color: COLORS.p99,
          points: fine.filter((b) => b.requests > 0).map((b) => [b.startS + fineS / 2, b.p99Ms]),
          dots: r.buckets.map((b) => [b.startS + minuteS / 2, b.p99Ms]),
        },
      ],
      outage,
    }),
  )
  const H = 594
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="system-ui, -apple-system, Segoe UI, sans-serif">
<title>keyhole soak: RSS and p99 latency over time, the Redis outage shaded</title>
<rect width="${W}" height="${H}" fill="#ffffff"/>
${parts.join('\n')}
</svg>
`
}
