import { createCachingStore } from '@keyhole/core'
import { createRedisStore } from '@keyhole/redis'
import { describeStoreContract } from '../../../test/store-contract.js'
import { deletePrefix, uniqueNames } from './helpers.js'

// The contract is about answers, not latency: a generous timeout keeps a loaded CI machine
// from turning it into a speed test (outage.test.ts covers the timeout).
describeStoreContract('redis', async () => {
  const names = uniqueNames('contract')
  const store = createRedisStore({ ...names, grace: 0, timeout: '5s' })
  await store.ready()
  return {
    store,
    close: async () => {
      await store.close()
      await deletePrefix(names.prefix)
    },
  }
})

describeStoreContract('caching(redis)', async () => {
  const names = uniqueNames('contract-caching')
  const inner = createRedisStore({ ...names, grace: 0, timeout: '5s' })
  await inner.ready()
  // a cached "revoked" may outlive the token; keep it shorter than the contract's expiry wait
  const store = createCachingStore(inner, { ttl: '500ms' })
  return {
    store,
    close: async () => {
      store.close()
      await inner.close()
      await deletePrefix(names.prefix)
    },
  }
})
