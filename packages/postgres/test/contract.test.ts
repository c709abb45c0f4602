import { createCachingStore } from '@keyhole/core'
import { createPostgresStore } from '@keyhole/postgres'
import { describeStoreContract } from '../../../test/store-contract.js'
import { dropTables, PG_URL, uniqueNames } from './helpers.js'

// The contract is about answers, not latency: a generous timeout keeps a loaded CI machine
// from turning it into a speed test (outage.test.ts covers the timeout).
describeStoreContract('postgres', async () => {
  const names = uniqueNames('contract')
  const store = createPostgresStore({ ...names, url: PG_URL, grace: 0, timeout: '5s' })
  await store.migrate()
  return {
    store,
    close: async () => {
      await store.close()
      await dropTables(names.table)
    },
  }
})

describeStoreContract('caching(postgres)', async () => {
  const names = uniqueNames('contract_caching')
  const inner = createPostgresStore({ ...names, url: PG_URL, grace: 0, timeout: '5s' })
  await inner.migrate()
  // a cached "revoked" may outlive the token; keep it shorter than the contract's expiry wait
  const store = createCachingStore(inner, { ttl: '500ms' })
  return {
    store,
    close: async () => {
      store.close()
      await inner.close()
      await dropTables(names.table)
    },
  }
})
