// @keyhole/redis: a revocation store shared by every proxy replica, with pub/sub push.
export { createRedisStore, type RedisStore, type RedisStoreOptions } from './redis-store.js'
