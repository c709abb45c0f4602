// Reads a V8 .cpuprofile (`node --cpu-prof`) and sums self time per function and per origin.
//   node bench/proxy/profile.mjs <file.cpuprofile> [top]
import { readFileSync } from 'node:fs'

/** Where a frame's code lives, for the per-origin totals. */
export function origin(url, name) {
  if (name === '(idle)') return 'idle'
  if (name === '(garbage collector)') return 'GC'
  if (name === '(program)') return 'V8/native (program)'
  if (!url) return 'native'
  if (url.includes('/packages/core/')) return 'keyhole core'
  if (url.includes('/packages/hono/')) return 'keyhole hono adapter'
  if (url.includes('/packages/express/')) return 'keyhole express adapter'
  if (url.includes('/@hono/node-server/')) return '@hono/node-server'
  if (url.includes('/node_modules/hono/')) return 'hono'
  if (url.includes('/node_modules/jose/')) return 'jose'
  if (url.includes('/node_modules/')) return `deps (${url.split('/node_modules/').pop().split('/')[0]})`
  if (url.startsWith('node:internal/deps/undici')) return 'undici (fetch)'
  if (url.startsWith('node:internal/webstreams')) return 'node web streams'
  if (url.startsWith('node:')) return 'node core'
  return 'other'
}

/** Self time in ms per function (`name url:line`) and per origin, sorted, with the total. */
export function summarize(profile) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const self = new Map()
  const deltas = profile.timeDeltas
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]
    self.set(id, (self.get(id) ?? 0) + (deltas[i] ?? 0))
  }
  const frames = new Map()
  const origins = new Map()
  let total = 0
  let idle = 0
  for (const [id, micros] of self) {
    const node = byId.get(id)
    const { functionName, url, lineNumber } = node.callFrame
    const name = functionName || '(anonymous)'
    const where = url
      ? `${url.replace(/^file:\/\/.*?\/(node_modules|packages)\//, '$1/')}:${lineNumber + 1}`
      : ''
    const key = where ? `${name} ${where}` : name
    const o = origin(url, name)
    if (o === 'idle') {
      idle += micros
      continue
    }
    total += micros
    frames.set(key, (frames.get(key) ?? 0) + micros)
    origins.set(o, (origins.get(o) ?? 0) + micros)
  }
  const sorted = (m) =>
    [...m].sort((a, b) => b[1] - a[1]).map(([name, us]) => ({ name, ms: us / 1000, share: us / total }))
  return { totalMs: total / 1000, idleMs: idle / 1000, frames: sorted(frames), origins: sorted(origins) }
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop())) {
  const summary = summarize(JSON.parse(readFileSync(process.argv[2], 'utf8')))
  const top = Number(process.argv[3] ?? 25)
  console.log(`busy ${summary.totalMs.toFixed(0)} ms, idle ${summary.idleMs.toFixed(0)} ms`)
  for (const o of summary.origins) console.log(`${(o.share * 100).toFixed(1).padStart(5)}%  ${o.name}`)
  console.log('')
  for (const f of summary.frames.slice(0, top))
    console.log(`${(f.share * 100).toFixed(1).padStart(5)}%  ${f.name}`)
}
