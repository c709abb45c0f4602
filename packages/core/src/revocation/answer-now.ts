import type { RevocationStore } from './store.js'

/**
 * Core's own stores (the memory store, and the caching store on a hit) can answer from memory;
 * through this the opener takes that answer at once instead of awaiting a promise and a few
 * microtask turns on every request. Not a registered symbol: other stores simply use `isRevoked`.
 * Internal to core.
 */
export const ANSWER_NOW: unique symbol = Symbol('keyhole.revocation.answerNow')

/** A store that may know the answer without waiting. */
export interface AnswersNow {
  /** `true`/`false` when known right now; `undefined` when `isRevoked` must be asked. */
  [ANSWER_NOW](jti: string): boolean | undefined
}

/** The store's immediate answer for `jti`, or `undefined` when it has none (then await `isRevoked`). */
export function answerNow(store: RevocationStore, jti: string): boolean | undefined {
  const answer = (store as Partial<AnswersNow>)[ANSWER_NOW]
  return answer === undefined ? undefined : answer.call(store, jti)
}
