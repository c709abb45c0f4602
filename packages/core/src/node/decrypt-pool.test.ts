import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { build } from 'esbuild'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { craftJws, craftSignedToken, validClaims } from '../../test/kit/index.js'
import { testEdIssuer, testIssuer, testIssuers } from '../../test/kit/issuer.js'
import { generateKey } from '../keys/generate-key.js'
import { toPublicJwk } from '../keys/jwk.js'
import { createKeyring } from '../keys/keyring.js'
import { mint } from '../mint.js'
import { createOpener } from '../open/opener.js'
import type { KeyholeIssuerPublicJwk } from '../types.js'
import { nodeDecrypt } from './crypto/node-decrypt.js'
import { nodeVerify } from './crypto/node-verify.js'
import { createDecryptPool, type DecryptPool, type DecryptPoolOptions } from './decrypt-pool.js'
import { createNodeOpener } from './node-opener.js'

// Real worker threads running the worker script built from this source (the package build puts
// the same file in dist/), checked against nodeDecrypt on the main thread.
let dir: string
let workerUrl: URL
const pools: DecryptPool[] = []

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'keyhole-decrypt-worker-'))
  const outfile = join(dir, 'decrypt-worker.mjs')
  await build({
    entryPoints: [new URL('./decrypt-worker.ts', import.meta.url).pathname],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile,
    logLevel: 'silent',
  })
  workerUrl = pathToFileURL(outfile)
})

afterAll(async () => {
  await Promise.all(pools.map((pool) => pool.close()))
  rmSync(dir, { recursive: true, force: true })
})

function pool(threads: number, options: Omit<DecryptPoolOptions, 'threads' | 'workerUrl'> = {}): DecryptPool {
  const created = createDecryptPool({ threads, workerUrl, ...options })
  pools.push(created)
  return created
}

// Polls until `check` holds (worker exits are asynchronous), failing after `ms`.
async function until(check: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out')
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

const B64U = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

// A signed token's plaintext is the issuer's JWS; its payload holds the claims.
function grantClaims(plaintext: Uint8Array) {
  const payload = Buffer.from(plaintext).toString('utf8').split('.')[1] ?? ''
  return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'))
}

describe('createDecryptPool', () => {
  it('decrypts what nodeDecrypt decrypts, and refuses what it refuses (random grants and damage)', async () => {
    const keys = [await generateKey(), await generateKey({ curve: 'X25519' })]
    const keyring = createKeyring(keys)
    const otherKey = await generateKey()
    const other = createKeyring([otherKey])
    const decryptor = pool(2)
    // Credential-shaped values (mint refuses blank values and control characters).
    const secret = fc.string({
      unit: fc.constantFrom(...'abcXYZ0189-_.~+/='.split('')),
      minLength: 1,
      maxLength: 60,
    })
    await fc.assert(
      fc.asyncProperty(
        secret,
        fc.nat(3),
        fc.nat(400),
        fc.boolean(),
        async (value, curveIndex, damageAt, damaged) => {
          const to = curveIndex % 2 === 0 ? keyring.publicJwks() : other.publicJwks()
          let token = await mint(
            { hosts: ['api.example.com'], inject: [{ in: 'header', name: 'X-Key', value }], ttl: '1h' },
            { to, signWith: testIssuer },
          )
          if (damaged) {
            const at = damageAt % token.length
            const char = token[at] as string
            if (char !== '.')
              token = token.slice(0, at) + B64U[(B64U.indexOf(char) + 1) % 64] + token.slice(at + 1)
          }
          for (const key of [...keys, otherKey]) {
            let expected: Uint8Array | undefined
            try {
              expected = nodeDecrypt(token, key)
            } catch {
              expected = undefined
            }
            const actual = await decryptor.decrypt(token, key).catch(() => undefined)
            expect(actual === undefined ? undefined : Buffer.from(actual)).toEqual(
              expected === undefined ? undefined : Buffer.from(expected),
            )
          }
        },
      ),
      { numRuns: 40 },
    )
  })

  it('answers many concurrent decryptions each with its own plaintext', async () => {
    const keyring = createKeyring([await generateKey()])
    const key = keyring.current
    const tokens = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        mint(
          { hosts: ['api.example.com'], inject: [{ in: 'header', name: 'X-N', value: `n-${i}` }], ttl: '1h' },
          { to: keyring.publicJwks(), signWith: testIssuer },
        ),
      ),
    )
    const decryptor = pool(2)
    const plaintexts = await Promise.all(tokens.map((token) => decryptor.decrypt(token, key)))
    const values = plaintexts.map((p) => grantClaims(p).inject[0].value)
    expect(values).toEqual(tokens.map((_, i) => `n-${i}`))
  })

  it('plugs into createOpener: opens, refuses with invalid_token, and never names the token', async () => {
    const keyring = createKeyring([await generateKey()])
    const opener = createOpener({ keyring, issuers: testIssuers, decrypt: pool(1).decrypt })
    const token = await mint(
      {
        hosts: ['api.example.com'],
        inject: [{ in: 'header', name: 'Authorization', value: 'Bearer s3cr3t-pool' }],
        ttl: '1h',
      },
      { to: keyring.publicJwks(), signWith: testIssuer },
    )
    expect((await opener.open(token)).inject[0]?.value).toBe('Bearer s3cr3t-pool')
    const parts = token.split('.')
    parts[3] = `${(parts[3] as string).slice(0, -2)}AA`
    const tampered = parts.join('.')
    const error = await opener.open(tampered).then(
      () => undefined,
      (e: unknown) => e as Error & { code?: string },
    )
    expect(error?.code).toBe('invalid_token')
    expect(`${error?.message} ${error?.stack}`).not.toContain(tampered)
  })

  it('rejects pending work on close and starts again on the next decryption', async () => {
    const keyring = createKeyring([await generateKey()])
    const key = keyring.current
    const token = await mint(
      { hosts: ['api.example.com'], inject: [{ in: 'header', name: 'X-K', value: 'v' }], ttl: '1h' },
      { to: keyring.publicJwks(), signWith: testIssuer },
    )
    // Every job on a worker: a lone decryption would otherwise run on this thread.
    const decryptor = pool(1, { inline: false })
    const pending = decryptor.decrypt(token, key)
    await decryptor.close()
    await expect(pending).rejects.toThrow('stopped')
    expect(grantClaims(await decryptor.decrypt(token, key)).hosts).toEqual(['api.example.com'])
  })

  it('starts no worker before the first decryption, stops idle ones after idleTimeout, starts again', async () => {
    const keyring = createKeyring([await generateKey()])
    const key = keyring.current
    const tokens = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        mint(
          {
            hosts: ['api.example.com'],
            inject: [{ in: 'header', name: 'X-N', value: `idle-${i}` }],
            ttl: '1h',
          },
          { to: keyring.publicJwks(), signWith: testIssuer },
        ),
      ),
    )
    const decryptor = pool(2, { idleTimeout: '200ms', inline: false })
    expect(decryptor.stats()).toEqual({ workers: 0, pending: 0 })
    const first = decryptor.decrypt(tokens[0] as string, key)
    expect(decryptor.stats()).toEqual({ workers: 1, pending: 1 })
    expect(Buffer.from(await first)).toEqual(Buffer.from(nodeDecrypt(tokens[0] as string, key)))
    // A burst while the first worker is busy brings in the second, never more than `threads`.
    // (Counted as the jobs are sent: on a loaded machine one worker may finish its share and go
    // idle for longer than 200 ms before the other does.)
    const sent = tokens.map((token) => decryptor.decrypt(token, key))
    expect(decryptor.stats().workers).toBe(2)
    const burst = await Promise.all(sent)
    expect(burst.map((p) => grantClaims(p).inject[0].value)).toEqual(tokens.map((_, i) => `idle-${i}`))
    await until(() => decryptor.stats().workers === 0)
    expect(decryptor.stats()).toEqual({ workers: 0, pending: 0 })
    // Started again on demand; the new worker is sent the key again.
    const again = await decryptor.decrypt(tokens[3] as string, key)
    expect(Buffer.from(again)).toEqual(Buffer.from(nodeDecrypt(tokens[3] as string, key)))
    expect(decryptor.stats().workers).toBe(1)
  })

  it('opens exactly what the main-thread opener opens, across idle stops (idleTimeout 0)', async () => {
    const keyring = createKeyring([await generateKey(), await generateKey({ curve: 'X25519' })])
    const decryptor = pool(2, { idleTimeout: 0, inline: false })
    const onPool = createOpener({ keyring, issuers: testIssuers, decrypt: decryptor.decrypt, cacheSize: 0 })
    const onMain = createNodeOpener({ keyring, issuers: testIssuers, cacheSize: 0 })
    const tokens = await Promise.all(
      Array.from({ length: 24 }, (_, i) =>
        mint(
          {
            hosts: ['api.example.com'],
            inject: [{ in: 'header', name: 'Authorization', value: `Bearer k-${i}` }],
            ttl: '1h',
            sub: `s-${i}`,
          },
          { to: keyring.publicJwks(), signWith: testIssuer },
        ),
      ),
    )
    // Concurrent (workers kept by their pending work) and one by one (a worker stopped after each).
    const concurrent = await Promise.all(tokens.map((token) => onPool.open(token)))
    const sequential = []
    for (const token of tokens.slice(0, 6)) sequential.push(await onPool.open(token))
    const expected = await Promise.all(tokens.map((token) => onMain.open(token)))
    expect(concurrent).toEqual(expected)
    expect(sequential).toEqual(expected.slice(0, 6))
    await until(() => decryptor.stats().workers === 0)
  })

  it('decrypts a lone token on the calling thread and a burst on the workers', async () => {
    const keyring = createKeyring([await generateKey()])
    const key = keyring.current
    const tokens = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        mint(
          {
            hosts: ['api.example.com'],
            inject: [{ in: 'header', name: 'X-N', value: `lone-${i}` }],
            ttl: '1h',
          },
          { to: keyring.publicJwks(), signWith: testIssuer },
        ),
      ),
    )
    const decryptor = pool(2)
    // An idle event loop (the pool reads how busy it was lately), nothing in flight and nothing
    // else this turn: no worker is started for it.
    await new Promise((resolve) => setTimeout(resolve, 120))
    const lone = await decryptor.decrypt(tokens[0] as string, key)
    expect(Buffer.from(lone)).toEqual(Buffer.from(nodeDecrypt(tokens[0] as string, key)))
    expect(decryptor.stats()).toEqual({ workers: 0, pending: 0 })
    // Eight at once: at most the first runs here, the others go to the workers.
    const burst = tokens.map((token) => decryptor.decrypt(token, key))
    expect(decryptor.stats().pending).toBeGreaterThanOrEqual(7)
    expect(decryptor.stats().workers).toBe(2)
    const plaintexts = await Promise.all(burst)
    expect(plaintexts.map((p) => grantClaims(p).inject[0].value)).toEqual(tokens.map((_, i) => `lone-${i}`))
    // A token that does not decrypt is refused on this thread as on a worker.
    await new Promise((resolve) => setImmediate(resolve))
    const other = (await generateKey()) as typeof key
    await expect(decryptor.decrypt(tokens[1] as string, other)).rejects.toThrow('did not decrypt')
  })

  it('checks grant signatures as nodeVerify does, on the calling thread and on the workers', async () => {
    const keyring = createKeyring([await generateKey()])
    const key = keyring.current
    const [es256, eddsa] = testIssuers as [KeyholeIssuerPublicJwk, KeyholeIssuerPublicJwk]
    const cases: Array<{
      issuer: { alg: 'ES256' | 'EdDSA'; jwk: (typeof testIssuers)[number] }
      jws: string
    }> = []
    for (const [signWith, jwk] of [
      [testIssuer, es256],
      [testEdIssuer, eddsa],
    ] as const) {
      const token = await mint(
        { hosts: ['api.example.com'], inject: [{ in: 'header', name: 'X-K', value: 'v' }], ttl: '1h' },
        { to: keyring.publicJwks(), signWith },
      )
      const jws = Buffer.from(nodeDecrypt(token, key)).toString('utf8')
      cases.push({ issuer: { alg: jwk.alg, jwk }, jws })
    }
    // Another issuer's key of the same algorithm (the opener only ever pairs a key with its own).
    const others = {
      ES256: toPublicJwk(await generateKey({ use: 'sig', alg: 'ES256' })),
      EdDSA: toPublicJwk(await generateKey({ use: 'sig', alg: 'EdDSA' })),
    }
    for (const inline of [true, false]) {
      const checker = pool(2, { inline })
      for (const { issuer, jws } of cases) {
        const cut = jws.lastIndexOf('.')
        const [input, signature] = [jws.slice(0, cut), jws.slice(cut + 1)]
        const damaged = `${signature.slice(0, 10)}${signature[10] === 'A' ? 'B' : 'A'}${signature.slice(11)}`
        const wrongKey = { alg: issuer.alg, jwk: others[issuer.alg] }
        for (const [who, sig, expected] of [
          [issuer, signature, true],
          [issuer, damaged, false],
          [issuer, 'not-a-signature', false],
          [wrongKey, signature, false],
        ] as const) {
          expect(nodeVerify(who, input, sig)).toBe(expected)
          expect(await checker.verify(who, input, sig)).toBe(expected)
        }
      }
      if (!inline) expect(checker.stats().workers).toBeGreaterThan(0)
    }
  })

  it('plugs into createOpener as verify: opens signed grants, refuses a forged signature', async () => {
    const keyring = createKeyring([await generateKey()])
    const decryptor = pool(2, { inline: false })
    const opener = createOpener({
      keyring,
      issuers: testIssuers,
      decrypt: decryptor.decrypt,
      verify: decryptor.verify,
      cacheSize: 0,
    })
    const token = await mint(
      { hosts: ['api.example.com'], inject: [{ in: 'header', name: 'X-K', value: 'signed-v' }], ttl: '1h' },
      { to: keyring.publicJwks(), signWith: testEdIssuer },
    )
    expect((await opener.open(token)).inject[0]?.value).toBe('signed-v')
    // The same claims with the signature's last bytes flipped: the check on the worker fails.
    const jws = await craftJws(validClaims(), testEdIssuer)
    const flipped = jws.slice(0, -2) + (jws.at(-2) === 'A' ? 'B' : 'A') + jws.at(-1)
    const forged = await craftSignedToken(keyring.publicJwks().keys[0] as never, flipped)
    const error = await opener.open(forged).then(
      () => undefined,
      (e: unknown) => e as Error & { code?: string },
    )
    expect([error?.code, (error as { reason?: string } | undefined)?.reason]).toEqual([
      'invalid_token',
      'bad_signature',
    ])
    expect(decryptor.stats().workers).toBeGreaterThan(0)
  })

  it('refuses an idleTimeout that is not a duration', () => {
    expect(() => createDecryptPool({ threads: 1, workerUrl, idleTimeout: 'soon' })).toThrow('durations')
  })

  it('refuses a thread count that is not a positive integer', () => {
    for (const threads of [0, -1, 1.5, Number.NaN]) {
      expect(() => createDecryptPool({ threads, workerUrl })).toThrow('threads')
    }
  })
})
