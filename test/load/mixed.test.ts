// Mixed load through all three proxies for KEYHOLE_LOAD_SECONDS (default 30): zero 5xx made by
// keyhole, zero credential mix-ups, no request of a bad token reaching any upstream, heap flat.
import { describe, expect, it } from 'vitest'
import { describeReport, runMixedLoad } from './mixed-load.js'

const seconds = Number(process.env.KEYHOLE_LOAD_SECONDS ?? 30)
const concurrency = Number(process.env.KEYHOLE_LOAD_CONCURRENCY ?? 24)

describe('mixed load', () => {
  it(
    `valid, expired, revoked, foreign-host and garbage tokens for ${seconds}s`,
    async () => {
      const report = await runMixedLoad({ seconds, concurrency, onSample: (line) => console.log(line) })
      console.log(describeReport('load', report))

      expect(report.requests).toBeGreaterThan(seconds * 5)
      for (const kind of Object.keys(report.byKind))
        expect(report.byKind[kind as keyof typeof report.byKind]).toBeGreaterThan(0)
      expect(report.upstreamRequests).toBeGreaterThan(0)
      expect(report.upstream5xx).toBeGreaterThan(0) // the control: upstream 5xx exist and are told apart
      expect(report.keyhole5xx).toBe(0)
      expect(report.transportErrors).toBe(0)
      expect(report.wrongOutcomes).toBe(0)
      expect(report.mixups).toBe(0)
      expect(report.unexpectedUpstream).toBe(0)
      expect(report.decoyRequests).toBe(0)
      expect(report.eventLeaks).toBe(0)
      // Heap after a full GC: the run must not keep what it handled (grant cache and pools are bounded).
      expect(report.heap.endMb - report.heap.startMb).toBeLessThan(64)
    },
    (seconds + 120) * 1000,
  )
})
