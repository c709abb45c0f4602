// The worker thread of createDecryptPool(): decrypts with nodeDecrypt and answers with the
// plaintext, or with nothing at all on failure (the opener turns any failure into one opaque
// invalid_token, so no reason has to cross the thread boundary). Built as its own entry point
// (dist/decrypt-worker.js).
import { parentPort } from 'node:worker_threads'
import type { KeyholePrivateJwk } from '../types.js'
import { nodeDecrypt } from './crypto/node-decrypt.js'
import type { DecryptAnswer, DecryptJob } from './decrypt-pool.js'

// Keys by the id the pool gave them; a key is sent once per worker. Kept as the same objects so
// that nodeDecrypt's per-key preparation is reused.
const keys = new Map<number, KeyholePrivateJwk>()
const port = parentPort

port?.on('message', (job: DecryptJob) => {
  if (job.key) keys.set(job.keyId, job.key)
  const answer: DecryptAnswer = { id: job.id }
  try {
    const key = keys.get(job.keyId)
    if (key) answer.plaintext = nodeDecrypt(job.token, key)
  } catch {
    // Reported as an answer without a plaintext.
  }
  port.postMessage(answer)
})
