// @keyhole/redis: a revocation store shared by every proxy replica, with pub/sub push, and a
// proof replay cache shared the same way.
export {
  createRedisReplayCache,
  type RedisReplayCache,
  type RedisReplayCacheOptions,
} from './redis-replay-cache.js'
export { createRedisStore, type RedisStore, type RedisStoreOptions } from './redis-store.js'
