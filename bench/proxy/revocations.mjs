// Row 6b: the heap cost of 1,000,000 revoked jtis in core's in-memory store, in a fresh process
// (run with --expose-gc). jtis are what `mint` makes: 16 random bytes, base64url (22 characters).
// Prints one JSON line. `heapDelta` is everything the revocations add: the store's structures and
// the id strings it keeps (they arrive with the revoke calls; here they are made first, so the two
// parts can be told apart: `idStrings` and `storeOnly`).
import crypto from 'node:crypto'
import { createMemoryStore } from '@keyhole/core'

const COUNT = Number(process.argv[2] ?? 1_000_000)
const gc = () => {
  globalThis.gc()
  globalThis.gc()
}
gc()
const empty = process.memoryUsage()
let jtis = new Array(COUNT)
for (let i = 0; i < COUNT; i++) jtis[i] = crypto.randomBytes(16).toString('base64url')
gc()
const withIds = process.memoryUsage()
const store = createMemoryStore({ sweepInterval: false })
const expires = new Date(Date.now() + 3600_000)
const started = performance.now()
for (let i = 0; i < COUNT; i++) await store.revoke(jtis[i], expires)
const fillMs = performance.now() - started
let sampled = 0
for (let i = 0; i < COUNT; i += 997) if (await store.isRevoked(jtis[i])) sampled++
const expected = Math.ceil(COUNT / 997)
// Drop the bench's own array of the ids (8 bytes a slot): the store keeps the strings.
jtis = undefined
gc()
const after = process.memoryUsage()
process.stdout.write(
  `${JSON.stringify({
    count: COUNT,
    size: store.size,
    fillMs,
    heapDelta: after.heapUsed - empty.heapUsed,
    rssDelta: after.rss - empty.rss,
    idStrings: withIds.heapUsed - empty.heapUsed - COUNT * 8,
    storeOnly: after.heapUsed - withIds.heapUsed + COUNT * 8,
    sampledRevoked: sampled === expected,
  })}\n`,
)
store.close()
