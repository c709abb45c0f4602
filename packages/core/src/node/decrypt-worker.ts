// The worker thread of createDecryptPool(): decrypts with nodeDecrypt and answers with the
// plaintext, or with nothing at all on failure (the opener turns any failure into one opaque
// invalid_token, so no reason has to cross the thread boundary); checks a grant's signature with
// nodeVerify and answers `valid`. Built as its own entry point (dist/decrypt-worker.js).
import { parentPort } from 'node:worker_threads'
import type { KeyholeIssuerPublicJwk, KeyholePrivateJwk } from '../types.js'
import { nodeDecrypt } from './crypto/node-decrypt.js'
import { nodeVerify } from './crypto/node-verify.js'
import type { DecryptAnswer, DecryptJob } from './decrypt-pool.js'

// Keys by the id the pool gave them; a key is sent once per worker. Kept as the same objects so
// that nodeDecrypt's and nodeVerify's per-key preparation is reused.
const keys = new Map<number, KeyholePrivateJwk | KeyholeIssuerPublicJwk>()
const port = parentPort

port?.on('message', (job: DecryptJob) => {
  if (job.key) keys.set(job.keyId, job.key)
  const answer: DecryptAnswer = { id: job.id }
  try {
    const key = keys.get(job.keyId)
    if (key && job.verify) {
      const issuer = { alg: job.verify.alg, jwk: key as KeyholeIssuerPublicJwk }
      answer.valid = nodeVerify(issuer, job.token, job.verify.signature) === true
    } else if (key) answer.plaintext = nodeDecrypt(job.token, key as KeyholePrivateJwk)
  } catch {
    // Reported as an answer without a plaintext (or not valid).
  }
  port.postMessage(answer)
})
