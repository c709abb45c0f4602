// Renders bench/results/proxy.svg from the figures bench/proxy.mjs measured: throughput of each
// A/B pair (median bar, one dot per run), latency direct vs through keyhole, and memory growth
// against each row's budget. Plain SVG, no dependencies.

const COLORS = { keyhole: '#2563eb', base: '#9ca3af', extra: '#f59e0b', direct: '#9ca3af' }
const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
const median = (list) => {
  const s = [...list].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}

function text(x, y, body, { size = 12, anchor = 'start', weight = 'normal', fill = '#111827' } = {}) {
  return `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" font-size="${size}" text-anchor="${anchor}" font-weight="${weight}" fill="${fill}">${esc(body)}</text>`
}

function niceMax(value) {
  const p = 10 ** Math.floor(Math.log10(value || 1))
  for (const m of [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (value <= m * p) return m * p
  return 10 * p
}

/**
 * Vertical grouped bars. groups: [{ label, note, bars: [{ label, color, runs: number[] }] }].
 * `log`: a logarithmic axis (for latencies from tenths of a millisecond to seconds).
 */
function barPanel({ x, y, width, height, title, unit, groups, log = false }) {
  const out = [text(x, y - 8, title, { size: 13, weight: 'bold' })]
  const all = groups.flatMap((g) => g.bars.flatMap((b) => b.runs)).filter((v) => v > 0)
  const left = x + 48
  const plotW = width - 48
  const bottom = y + height
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
      out.push(
        text(left - 6, yy + 4, v >= 100 ? Math.round(v).toLocaleString('en-US') : +v.toFixed(2), {
          size: 10,
          anchor: 'end',
          fill: '#6b7280',
        }),
      )
    }
  }
  out.push(text(left - 40, y + 4, unit, { size: 10, fill: '#6b7280' }))
  const groupW = plotW / groups.length
  groups.forEach((g, gi) => {
    const gx = left + gi * groupW
    const barW = Math.min(46, (groupW - 24) / g.bars.length)
    const start = gx + (groupW - barW * g.bars.length) / 2
    g.bars.forEach((b, bi) => {
      const m = median(b.runs)
      const h = scale(m)
      const bx = start + bi * barW
      out.push(
        `<rect x="${(bx + 2).toFixed(1)}" y="${(bottom - h).toFixed(1)}" width="${(barW - 4).toFixed(1)}" height="${h.toFixed(1)}" fill="${b.color}"/>`,
      )
      b.runs.forEach((r, ri) => {
        const cx = bx + 6 + ((barW - 12) * (ri + 0.5)) / b.runs.length
        out.push(
          `<circle cx="${cx.toFixed(1)}" cy="${(bottom - scale(r)).toFixed(1)}" r="2.5" fill="#111827" fill-opacity="0.7"/>`,
        )
      })
      out.push(text(bx + barW / 2, bottom + 13, b.label, { size: 10, anchor: 'middle' }))
    })
    out.push(text(gx + groupW / 2, bottom + 28, g.label, { size: 11, anchor: 'middle', weight: 'bold' }))
    if (g.note)
      out.push(
        text(gx + groupW / 2, bottom + 42, g.note, {
          size: 10,
          anchor: 'middle',
          fill: g.met === false ? '#b91c1c' : '#15803d',
        }),
      )
  })
  out.push(`<line x1="${left}" y1="${bottom}" x2="${x + width}" y2="${bottom}" stroke="#374151"/>`)
  return out.join('\n')
}

/** Horizontal bars of used/limit. items: [{ label, used, limit, unit }] */
function budgetPanel({ x, y, width, title, items }) {
  const out = [text(x, y - 8, title, { size: 13, weight: 'bold' })]
  const labelW = 250
  const barX = x + labelW
  const barW = width - labelW - 90
  items.forEach((it, i) => {
    const yy = y + i * 22
    const share = Math.max(0, it.used) / it.limit
    const w = Math.min(1, share) * barW
    out.push(text(x, yy + 12, it.label, { size: 11 }))
    out.push(`<rect x="${barX}" y="${yy + 2}" width="${barW}" height="14" fill="#f3f4f6"/>`)
    out.push(
      `<rect x="${barX}" y="${yy + 2}" width="${w.toFixed(1)}" height="14" fill="${share <= 1 ? COLORS.keyhole : '#dc2626'}"/>`,
    )
    out.push(
      `<line x1="${barX + barW}" y1="${yy}" x2="${barX + barW}" y2="${yy + 18}" stroke="#111827" stroke-dasharray="3,2"/>`,
    )
    out.push(text(barX + barW + 8, yy + 12, `${it.used.toFixed(1)} / ${it.limit} ${it.unit}`, { size: 11 }))
  })
  return out.join('\n')
}

/**
 * data: { throughput: [{ label, note, met, bars: [{ label, kind: 'keyhole'|'base'|'extra', runs }] }],
 *         latency: [{ label, bars: [{ label, kind, runs }] }] (one group per percentile/concurrency),
 *         budgets: [{ label, used, limit, unit }], subtitle }
 */
export function renderChart(data) {
  const W = 980
  const parts = []
  parts.push(text(20, 28, 'keyhole proxy vs baselines (bench/proxy.mjs)', { size: 16, weight: 'bold' }))
  parts.push(text(20, 46, data.subtitle, { size: 11, fill: '#4b5563' }))
  const color = (b) => ({ ...b, color: COLORS[b.kind] ?? COLORS.base })
  parts.push(
    barPanel({
      x: 20,
      y: 86,
      width: 480,
      height: 200,
      title: 'req/s at 32 connections (bar: median, dots: runs)',
      unit: 'req/s',
      groups: data.throughput.map((g) => ({ ...g, bars: g.bars.map(color) })),
    }),
  )
  parts.push(
    barPanel({
      x: 530,
      y: 86,
      width: 430,
      height: 200,
      title: 'Latency: kh(eyhole) / dir(ect) / bare pipe, log scale',
      unit: 'ms',
      log: true,
      groups: data.latency.map((g) => ({ ...g, bars: g.bars.map(color) })),
    }),
  )
  const budgetY = 390
  parts.push(
    budgetPanel({
      x: 20,
      y: budgetY,
      width: W - 40,
      title: 'Memory growth against each budget (dashed line = the limit)',
      items: data.budgets,
    }),
  )
  const H = budgetY + data.budgets.length * 22 + 20
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="system-ui, -apple-system, Segoe UI, sans-serif">
<title>keyhole proxy benchmark: each row against its baseline</title>
<rect width="${W}" height="${H}" fill="#ffffff"/>
${parts.join('\n')}
</svg>
`
}
