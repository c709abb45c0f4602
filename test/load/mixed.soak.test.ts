// The soak: the mixed load for KEYHOLE_SOAK_SECONDS (default 600 = 10 minutes). Run with `npm run soak`.
import { describe, expect, it } from 'vitest'
import { describeReport, runMixedLoad } from './mixed-load.js'

const seconds = Number(process.env.KEYHOLE_SOAK_SECONDS ?? 600)
const concurrency = Number(process.env.KEYHOLE_LOAD_CONCURRENCY ?? 24)

describe('soak', () => {
  it(
    `mixed load for ${seconds}s`,
    async () => {
      const report = await runMixedLoad({
        seconds,
        concurrency,
        tokens: 1000,
        sampleSeconds: 30,
        onSample: (line) => console.log(line),
      })
      console.log(describeReport('soak', report))

      expect(report.requests).toBeGreaterThan(seconds * 5)
      expect(report.upstream5xx).toBeGreaterThan(0)
      expect(report.keyhole5xx).toBe(0)
      expect(report.transportErrors).toBe(0)
      expect(report.wrongOutcomes).toBe(0)
      expect(report.mixups).toBe(0)
      expect(report.unexpectedUpstream).toBe(0)
      expect(report.decoyRequests).toBe(0)
      expect(report.eventLeaks).toBe(0)
      expect(report.heap.endMb - report.heap.startMb).toBeLessThan(64)
      // RSS: the last sample within 25% (or 64 MB) of the first, i.e. no steady growth.
      const samples = report.rss.samplesMb
      const first = samples[0] ?? report.rss.startMb
      const last = samples[samples.length - 1] ?? report.rss.endMb
      expect(last - first).toBeLessThan(Math.max(64, first * 0.25))
    },
    (seconds + 300) * 1000,
  )
})
