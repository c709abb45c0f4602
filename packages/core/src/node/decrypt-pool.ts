import { availableParallelism } from 'node:os'
import type { EventLoopUtilization } from 'node:perf_hooks'
import type { Worker } from 'node:worker_threads'
import { type Duration, toSeconds } from '../duration.js'
import { KeyholeError } from '../errors.js'
import type { IssuerKey } from '../open/issuers.js'
import type { KeyholeIssuerPublicJwk, KeyholePrivateJwk } from '../types.js'
import { nodeDecrypt } from './crypto/node-decrypt.js'
import { nodeVerify } from './crypto/node-verify.js'

/** Options of {@link createDecryptPool}. */
export interface DecryptPoolOptions {
  /**
   * Worker threads. Default: the machine's parallelism minus one (for the event loop), at least
   * 1 and at most 4.
   */
  threads?: number
  /**
   * Where the worker script is. Default: `decrypt-worker.js` beside this module in
   * `@keyhole/core`'s `dist`. Set it when a bundler moves this code away from that file, e.g.
   * `import.meta.resolve('@keyhole/core/decrypt-worker')` or a copy of that file.
   */
  workerUrl?: string | URL
  /**
   * Stops a worker once it has had no work for this long (`'30s'`, or seconds), so an idle proxy
   * holds no worker threads and their memory; the next decryption starts one again. Default:
   * workers run until `close()`.
   */
  idleTimeout?: Duration
  /**
   * Runs a job on the calling thread instead when the pool has nothing in flight, no other job of
   * its kind ran there in this turn of the event loop, and the event loop had time to spare lately
   * (under 95% busy over the last 50 ms or more) — a lone fresh token on a proxy that is not
   * saturated — so it does not pay the hand-off to a worker and back (about 0.1 ms of latency while
   * the event loop would only have waited). Work that arrives together, or while the event loop is
   * busy, still goes to the workers. Default `true`; `false` sends every job to a worker.
   */
  inline?: boolean
}

/** What {@link DecryptPool.stats} reports. */
export interface DecryptPoolStats {
  /** Worker threads running now (0 before the first decryption and after an idle stop). */
  readonly workers: number
  /** Jobs (decryptions and signature checks) sent to a worker and not yet answered. */
  readonly pending: number
}

/** A pool of worker threads that decrypt keyhole tokens off the event loop. */
export interface DecryptPool {
  /**
   * Decrypts `token` with `key` on a worker thread: `createOpener`'s `decrypt` option. Rejects
   * (with no detail, which the opener reports as `invalid_token`) when the token does not decrypt.
   */
  readonly decrypt: (token: string, key: KeyholePrivateJwk) => Promise<Uint8Array>
  /**
   * Checks a signed grant's signature (`nodeVerify`) on a worker thread: `createOpener`'s `verify`
   * option. Resolves `false` when the signature does not verify.
   */
  readonly verify: (
    issuer: Pick<IssuerKey, 'alg' | 'jwk'>,
    signingInput: string,
    signature: string,
  ) => Promise<boolean>
  /** The number of worker threads the pool runs at most. */
  readonly threads: number
  /** How many workers run and how much work they hold, now. */
  stats(): DecryptPoolStats
  /** Stops the workers; pending decryptions reject. A later `decrypt` starts them again. */
  close(): Promise<void>
}

/** @internal What the pool posts to a worker: a decryption, or (with `verify`) a signature check. */
export interface DecryptJob {
  id: number
  /** The token to decrypt, or the JWS signing input to check. */
  token: string
  /** The id of the decryption key, or of the issuer's public key. */
  keyId: number
  /** Sent with the first job for this key on each worker. */
  key?: KeyholePrivateJwk | KeyholeIssuerPublicJwk
  /** Present for a signature check: the issuer key's algorithm and the signature segment. */
  verify?: { alg: IssuerKey['alg']; signature: string }
}

/**
 * @internal What a worker posts back: the plaintext, or no plaintext when decryption failed; for
 * a signature check, `valid`.
 */
export interface DecryptAnswer {
  id: number
  plaintext?: Uint8Array
  valid?: boolean
}

interface Pending {
  resolve(answer: DecryptAnswer): void
  reject(error: Error): void
}

interface Slot {
  readonly worker: Worker
  readonly pending: Map<number, Pending>
  readonly sentKeys: WeakSet<object>
  /** Set while the worker has nothing to do and an idle timeout applies. */
  idle?: ReturnType<typeof setTimeout>
}

// The inline rule's view of the event loop: utilization over windows of at least this long, and
// the share above which it counts as busy. Not lower: one client sending a fresh token on every
// request, one at a time, keeps the loop about 80% busy (bench/proxy.mjs row 3c) with nothing
// waiting, and a hand-off to a worker only adds two thread wake-ups to each of its requests.
const ELU_WINDOW_MS = 50
const BUSY_LOOP = 0.95

// Ids for keys (decryption keys and issuer keys), shared by every pool: a key object keeps its id
// for as long as it lives.
const keyIds = new WeakMap<object, number>()
let nextKeyId = 1
const keyIdOf = (key: object): number => {
  let id = keyIds.get(key)
  if (id === undefined) {
    id = nextKeyId++
    keyIds.set(key, id)
  }
  return id
}

function defaultWorkerUrl(): URL {
  const here = import.meta.url
  // From source (the repository's tests) the worker is the built file; from dist it sits beside
  // this module's chunk.
  return here.endsWith('/src/node/decrypt-pool.ts')
    ? new URL('../../dist/decrypt-worker.js', here)
    : new URL('./decrypt-worker.js', here)
}

/**
 * A pool of worker threads for `createOpener`'s `decrypt` and `verify` options: the node:crypto
 * decryption (`nodeDecrypt`) and the issuer's signature check (`nodeVerify`) run on other cores,
 * so a proxy facing a stream of tokens it has not seen keeps its event loop for proxying. The
 * opener's own checks (header, claims, time, revocation) still run on the main thread, and the
 * verified-grant cache means only a token's first use reaches the pool. A lone job — nothing in
 * flight, nothing else of its kind in this turn of the event loop — runs on the calling thread
 * instead (`inline`), since handing it to a worker would only add latency to an idle proxy.
 * Workers start on first use, one more only while all are busy, stay unreferenced while idle
 * (they never keep the process alive), stop after `idleTimeout` without work if one is given, and
 * are replaced after a crash. Private keys are sent to each worker once.
 *
 * Worth it where tokens are mostly fresh (one per job, per sandbox run) and a core is spare;
 * a job on a worker costs one message round trip more CPU in all than on the event loop.
 *
 * @example
 * ```ts
 * import { createOpener } from '@keyhole/core'
 * import { createDecryptPool } from '@keyhole/core/node'
 *
 * // Up to 4 workers, none until they are needed, each stopped after 30 s without work.
 * const pool = createDecryptPool({ threads: 4, idleTimeout: '30s' })
 * const opener = createOpener({ keyring, issuers, decrypt: pool.decrypt, verify: pool.verify })
 * pool.stats() // { workers: 0, pending: 0 } until tokens arrive together
 * // on shutdown
 * await pool.close()
 * ```
 */
export function createDecryptPool(options: DecryptPoolOptions = {}): DecryptPool {
  const threads = options.threads ?? Math.max(1, Math.min(4, (availableParallelism?.() ?? 2) - 1))
  if (!Number.isSafeInteger(threads) || threads < 1) {
    throw new KeyholeError('bad_request', 'threads must be a positive integer')
  }
  const workerUrl = options.workerUrl ?? defaultWorkerUrl()
  const idleMs = options.idleTimeout === undefined ? undefined : toSeconds(options.idleTimeout) * 1000
  const inline = options.inline ?? true
  const slots: Slot[] = []
  let nextJobId = 1
  // Jobs sent to workers and not yet answered, over every slot.
  let inFlight = 0
  // Whether a decryption / a signature check already ran on this thread in this turn of the event
  // loop: requests read together in one turn are a burst, whose other jobs go to the workers.
  let decryptedHere = false
  let verifiedHere = false
  const clearTurn = () => {
    decryptedHere = false
    verifiedHere = false
  }
  // How busy the event loop was, re-read at most every ELU_WINDOW_MS: a loop that is nearly always
  // busy has requests waiting, and a job run here would delay them more than it saves.
  // node:perf_hooks is loaded and the first mark taken with the first job, not at creation: a
  // proxy that has not seen a new token yet need not hold it.
  let eluMark: EventLoopUtilization | undefined
  let eluAt = 0
  let loopBusy = false
  const busyLately = (): boolean => {
    const { performance } = process.getBuiltinModule('node:perf_hooks')
    const now = performance.now()
    if (eluMark === undefined) {
      eluMark = performance.eventLoopUtilization()
      eluAt = now
    } else if (now - eluAt >= ELU_WINDOW_MS) {
      const current = performance.eventLoopUtilization()
      loopBusy = performance.eventLoopUtilization(current, eluMark).utilization > BUSY_LOOP
      eluMark = current
      eluAt = now
    }
    return loopBusy
  }

  const fail = (slot: Slot) => {
    clearTimeout(slot.idle)
    const index = slots.indexOf(slot)
    if (index !== -1) slots.splice(index, 1)
    const error = new Error('the decryption worker stopped')
    inFlight -= slot.pending.size
    for (const pending of slot.pending.values()) pending.reject(error)
    slot.pending.clear()
  }

  // A worker with nothing to do is stopped after idleMs: a thread costs several megabytes of
  // memory (its own V8 heap) that a proxy at rest should not hold. It leaves the pool at once, so
  // no new job is sent to a worker that is terminating.
  const idleSoon = (slot: Slot) => {
    if (idleMs === undefined) return
    slot.idle = setTimeout(() => {
      if (slot.pending.size > 0) return
      const index = slots.indexOf(slot)
      if (index !== -1) slots.splice(index, 1)
      void slot.worker.terminate()
    }, idleMs)
    // The timer must not keep the process alive any more than the idle worker does.
    slot.idle.unref?.()
  }

  const start = (): Slot => {
    const worker = new (process.getBuiltinModule('node:worker_threads').Worker)(workerUrl)
    const slot: Slot = { worker, pending: new Map(), sentKeys: new WeakSet() }
    worker.unref()
    worker.on('message', (answer: DecryptAnswer) => {
      const pending = slot.pending.get(answer.id)
      if (!pending) return
      slot.pending.delete(answer.id)
      inFlight--
      if (slot.pending.size === 0) {
        worker.unref()
        idleSoon(slot)
      }
      pending.resolve(answer)
    })
    worker.on('error', () => fail(slot))
    worker.on('exit', () => fail(slot))
    slots.push(slot)
    return slot
  }

  // The least busy worker, starting another while all are busy and there is room.
  const pick = (): Slot => {
    let best: Slot | undefined
    for (const slot of slots) if (!best || slot.pending.size < best.pending.size) best = slot
    if (!best || (best.pending.size > 0 && slots.length < threads)) return start()
    return best
  }

  const send = (
    token: string,
    key: KeyholePrivateJwk | KeyholeIssuerPublicJwk,
    verify?: DecryptJob['verify'],
  ): Promise<DecryptAnswer> =>
    new Promise((resolve, reject) => {
      const slot = pick()
      const id = nextJobId++
      const job: DecryptJob = { id, token, keyId: keyIdOf(key) }
      if (verify) job.verify = verify
      if (!slot.sentKeys.has(key)) {
        job.key = key
        slot.sentKeys.add(key)
      }
      if (slot.pending.size === 0) {
        clearTimeout(slot.idle)
        slot.worker.ref()
      }
      slot.pending.set(id, { resolve, reject })
      inFlight++
      slot.worker.postMessage(job)
    })

  // Whether this job may run here: nothing in flight (the workers are idle, so nothing is queued
  // behind them), the first of its kind in this turn (a burst is spread over the workers), and an
  // event loop that has time to spare.
  const here = (done: boolean): boolean => {
    if (!inline || inFlight > 0 || done || busyLately()) return false
    if (!decryptedHere && !verifiedHere) setImmediate(clearTurn)
    return true
  }

  const decrypt = (token: string, key: KeyholePrivateJwk): Promise<Uint8Array> => {
    if (here(decryptedHere)) {
      decryptedHere = true
      try {
        return Promise.resolve(nodeDecrypt(token, key))
      } catch {
        return Promise.reject(new Error('the token did not decrypt'))
      }
    }
    return send(token, key).then((answer) => {
      if (answer.plaintext) return answer.plaintext
      throw new Error('the token did not decrypt')
    })
  }

  const verify = (
    issuer: Pick<IssuerKey, 'alg' | 'jwk'>,
    signingInput: string,
    signature: string,
  ): Promise<boolean> => {
    if (here(verifiedHere)) {
      verifiedHere = true
      try {
        return Promise.resolve(nodeVerify(issuer, signingInput, signature))
      } catch {
        return Promise.resolve(false)
      }
    }
    return send(signingInput, issuer.jwk, { alg: issuer.alg, signature }).then(
      (answer) => answer.valid === true,
    )
  }

  const close = async () => {
    const stopping = slots.splice(0)
    for (const slot of stopping) clearTimeout(slot.idle)
    await Promise.all(
      stopping.map(async (slot) => {
        await slot.worker.terminate()
        fail(slot)
      }),
    )
  }

  const stats = (): DecryptPoolStats => {
    let pending = 0
    for (const slot of slots) pending += slot.pending.size
    return { workers: slots.length, pending }
  }

  return { decrypt, verify, threads, stats, close }
}
