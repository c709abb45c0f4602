import { availableParallelism } from 'node:os'
import { Worker } from 'node:worker_threads'
import { KeyholeError } from '../errors.js'
import type { KeyholePrivateJwk } from '../types.js'

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
}

/** A pool of worker threads that decrypt keyhole tokens off the event loop. */
export interface DecryptPool {
  /**
   * Decrypts `token` with `key` on a worker thread: `createOpener`'s `decrypt` option. Rejects
   * (with no detail, which the opener reports as `invalid_token`) when the token does not decrypt.
   */
  readonly decrypt: (token: string, key: KeyholePrivateJwk) => Promise<Uint8Array>
  /** The number of worker threads the pool runs at most. */
  readonly threads: number
  /** Stops the workers; pending decryptions reject. A later `decrypt` starts them again. */
  close(): Promise<void>
}

/** @internal What the pool posts to a worker. */
export interface DecryptJob {
  id: number
  token: string
  keyId: number
  /** Sent with the first job for this key on each worker. */
  key?: KeyholePrivateJwk
}

/** @internal What a worker posts back: the plaintext, or no plaintext when decryption failed. */
export interface DecryptAnswer {
  id: number
  plaintext?: Uint8Array
}

interface Pending {
  resolve(plaintext: Uint8Array): void
  reject(error: Error): void
}

interface Slot {
  readonly worker: Worker
  readonly pending: Map<number, Pending>
  readonly sentKeys: WeakSet<KeyholePrivateJwk>
}

// Ids for keys, shared by every pool: a key object keeps its id for as long as it lives.
const keyIds = new WeakMap<KeyholePrivateJwk, number>()
let nextKeyId = 1

function defaultWorkerUrl(): URL {
  const here = import.meta.url
  // From source (the repository's tests) the worker is the built file; from dist it sits beside
  // this module's chunk.
  return here.endsWith('/src/node/decrypt-pool.ts')
    ? new URL('../../dist/decrypt-worker.js', here)
    : new URL('./decrypt-worker.js', here)
}

/**
 * A pool of worker threads for `createOpener`'s `decrypt` option: the node:crypto decryption
 * (`nodeDecrypt`) runs on another core, so a proxy facing a stream of tokens it has not seen
 * keeps its event loop for proxying. The opener's own checks (header, claims, time, revocation)
 * still run on the main thread, and the verified-grant cache means only a token's first use
 * reaches the pool. Workers start on first use, stay unreferenced while idle (they never keep
 * the process alive), and are replaced after a crash. Private keys are sent to each worker once.
 *
 * Worth it where tokens are mostly fresh (one per job, per sandbox run) and a core is spare;
 * a decryption costs one message round trip more CPU in all than on the event loop.
 *
 * @example
 * ```ts
 * import { createOpener } from '@keyhole/core'
 * import { createDecryptPool } from '@keyhole/core/node'
 *
 * const pool = createDecryptPool()
 * const opener = createOpener({ keyring, decrypt: pool.decrypt })
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
  const slots: Slot[] = []
  let nextJobId = 1

  const fail = (slot: Slot) => {
    const index = slots.indexOf(slot)
    if (index !== -1) slots.splice(index, 1)
    const error = new Error('the decryption worker stopped')
    for (const pending of slot.pending.values()) pending.reject(error)
    slot.pending.clear()
  }

  const start = (): Slot => {
    const worker = new Worker(workerUrl)
    const slot: Slot = { worker, pending: new Map(), sentKeys: new WeakSet() }
    worker.unref()
    worker.on('message', (answer: DecryptAnswer) => {
      const pending = slot.pending.get(answer.id)
      if (!pending) return
      slot.pending.delete(answer.id)
      if (slot.pending.size === 0) worker.unref()
      if (answer.plaintext) pending.resolve(answer.plaintext)
      else pending.reject(new Error('the token did not decrypt'))
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

  const decrypt = (token: string, key: KeyholePrivateJwk): Promise<Uint8Array> =>
    new Promise((resolve, reject) => {
      const slot = pick()
      let keyId = keyIds.get(key)
      if (keyId === undefined) {
        keyId = nextKeyId++
        keyIds.set(key, keyId)
      }
      const id = nextJobId++
      const job: DecryptJob = { id, token, keyId }
      if (!slot.sentKeys.has(key)) {
        job.key = key
        slot.sentKeys.add(key)
      }
      if (slot.pending.size === 0) slot.worker.ref()
      slot.pending.set(id, { resolve, reject })
      slot.worker.postMessage(job)
    })

  const close = async () => {
    const stopping = slots.splice(0)
    await Promise.all(
      stopping.map(async (slot) => {
        await slot.worker.terminate()
        fail(slot)
      }),
    )
  }

  return { decrypt, threads, close }
}
