import { createCachingStore } from '@keyhole/core'
import { createRedisStore } from '@keyhole/redis'
import { describeStoreContract } from '../../../test/store-contract.js'
import { deletePrefix, uniqueNames } from './helpers.js'

describeStoreContract('redis', async () => {
  const names = uniqueNames('contract')
  const store = createRedisStore({ ...names, grace: 0 })
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
  const inner = createRedisStore({ ...names, grace: 0 })
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
