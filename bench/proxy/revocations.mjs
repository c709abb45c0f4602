// Row 6b: the heap cost of 1,000,000 revoked jtis in core's in-memory store, in a fresh process
// (run with --expose-gc). jtis are what `mint` makes: 16 random bytes, base64url (22 characters).
// Prints one JSON line.
import crypto from 'node:crypto'
import { createMemoryStore } from '@keyhole/core'

const COUNT = Number(process.argv[2] ?? 1_000_000)
const gc = () => {
  globalThis.gc()
  globalThis.gc()
}
// The ids exist before the baseline is taken: the store's cost is what is measured, not the
// strings' own (a real store receives them from revoke calls and keeps them either way, so both
// figures are reported).
const jtis = new Array(COUNT)
for (let i = 0; i < COUNT; i++) jtis[i] = crypto.randomBytes(16).toString('base64url')
gc()
const before = process.memoryUsage()
const store = createMemoryStore({ sweepInterval: false })
const expires = new Date(Date.now() + 3600_000)
const started = performance.now()
for (let i = 0; i < COUNT; i++) await store.revoke(jtis[i], expires)
const fillMs = performance.now() - started
gc()
const after = process.memoryUsage()
let sampled = 0
for (let i = 0; i < COUNT; i += 997) if (await store.isRevoked(jtis[i])) sampled++
const expected = Math.ceil(COUNT / 997)
// What the id strings themselves take (22 one-byte characters plus a string header each).
jtis.length = 0
gc()
const withoutIds = process.memoryUsage()
process.stdout.write(
  `${JSON.stringify({
    count: COUNT,
    size: store.size,
    fillMs,
    heapDelta: after.heapUsed - before.heapUsed,
    rssDelta: after.rss - before.rss,
    idStrings: after.heapUsed - withoutIds.heapUsed,
    sampledRevoked: sampled === expected,
  })}\n`,
)
store.close()
