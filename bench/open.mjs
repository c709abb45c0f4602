// bench/open.mjs — the uncached open of a signed keyhole token on Node against the raw node:crypto
// primitives it cannot avoid, per curve pair (P-256 encryption + ES256 signature, X25519 + EdDSA),
// in one process, alternating sample by sample (issue 18, item 3: target ≤ 1.3×).
//
//   npm run build -w @keyhole/core && node --expose-gc bench/open.mjs   (or: npm run bench -- open)
//
// OPEN_FROM_SOURCE=1 bundles the TypeScript sources with esbuild into a temporary directory instead
// of importing the build, to measure a working tree. KEYHOLE_BENCH_SAMPLES: alternating samples
// per side (default 600), each a batch of OPEN_BATCH (default 8) sequential operations.
import crypto from 'node:crypto'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { join } from 'node:path'

const root = new URL('..', import.meta.url).pathname
const SAMPLES = Number(process.env.KEYHOLE_BENCH_SAMPLES ?? 600)
const BATCH = Number(process.env.OPEN_BATCH ?? 8)
const POOL = 256
const TARGET = 1.3

async function loadKeyhole() {
  if (!process.env.OPEN_FROM_SOURCE) {
    const core = await import('@keyhole/core')
    const node = await import('@keyhole/core/node')
    return { ...core, ...node, source: '@keyhole/core (built)' }
  }
  // One bundle for both entry points, so the opener and nodeDecrypt share their module state.
  // Inside node_modules, so the packages left external (jose, ...) resolve from the bundle.
  mkdirSync(join(root, 'node_modules/.cache'), { recursive: true })
  const dir = mkdtempSync(join(root, 'node_modules/.cache/keyhole-open-'))
  try {
    const esbuild = await import('esbuild')
    const outfile = join(dir, 'keyhole.mjs')
    await esbuild.build({
      stdin: {
        contents:
          "export * from './packages/core/src/index.ts'\nexport * from './packages/core/src/node.ts'\n",
        resolveDir: root,
        loader: 'ts',
      },
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      outfile,
      external: ['jose', 'ioredis', 'pg', 'ws', '@peculiar/*', 'undici'],
      logLevel: 'silent',
    })
    return { ...(await import(outfile)), source: 'packages/core/src (bundled with esbuild)' }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

const keyhole = await loadKeyhole()
const { createKeyring, createNodeOpener, generateKey, mint, toPublicJwk } = keyhole

// A realistic grant: two hosts, a path list, methods, one header credential.
const grant = {
  hosts: ['api.github.com', '*.githubusercontent.com'],
  paths: ['/repos/acme/**', '/user'],
  methods: ['GET', 'POST'],
  inject: [{ type: 'header', name: 'Authorization', value: `Bearer ghp_${'x'.repeat(36)}` }],
  ttl: '1h',
  sub: 'agent-bench',
}

const b64u = (s) => Buffer.from(s, 'base64url')
const u32 = (n) => {
  const b = Buffer.alloc(4)
  b.writeUInt32BE(n)
  return b
}
const ALG = Buffer.from('ECDH-ES+A256KW')
const OTHER_INFO = Buffer.concat([u32(ALG.length), ALG, u32(0), u32(0), u32(256)])
const KW_IV = Buffer.from('a6a6a6a6a6a6a6a6', 'hex')

/**
 * Everything the primitives need from one real token, taken apart outside the timed loop: the
 * ephemeral public key and both long-lived keys as KeyObjects, the wrapped key, IV, ciphertext,
 * tag, AAD, and (decrypted once here) the JWS signing input and signature bytes.
 */
function floorInputs(token, privateKey, issuerKey, alg) {
  const [h, ek, iv, ct, tag] = token.split('.')
  const header = JSON.parse(b64u(h).toString())
  const publicKey = crypto.createPublicKey({ key: header.epk, format: 'jwk' })
  const inputs = {
    privateKey,
    publicKey,
    wrapped: b64u(ek),
    iv: b64u(iv),
    ciphertext: b64u(ct),
    tag: b64u(tag),
    aad: Buffer.from(h, 'ascii'),
    issuerKey,
    digest: alg === 'ES256' ? 'sha256' : null,
    dsaEncoding: alg === 'ES256' ? 'ieee-p1363' : undefined,
  }
  const jws = floor(inputs, true).toString()
  const d2 = jws.lastIndexOf('.')
  inputs.signingInput = Buffer.from(jws.slice(0, d2), 'ascii')
  inputs.signature = b64u(jws.slice(d2 + 1))
  return inputs
}

/** The floor: ECDH derive + Concat KDF (one SHA-256) + AES-KW unwrap + AES-256-GCM + verify. */
function floor(inp, decryptOnly = false) {
  const z = crypto.diffieHellman({ privateKey: inp.privateKey, publicKey: inp.publicKey })
  const input = Buffer.allocUnsafe(4 + z.length + OTHER_INFO.length)
  input.writeUInt32BE(1, 0)
  input.set(z, 4)
  input.set(OTHER_INFO, 4 + z.length)
  const kek = crypto.hash('sha256', input, 'buffer')
  const kw = crypto.createDecipheriv('id-aes256-wrap', kek, KW_IV)
  const cek = kw.update(inp.wrapped)
  kw.final()
  const gcm = crypto.createDecipheriv('aes-256-gcm', cek, inp.iv, { authTagLength: 16 })
  gcm.setAAD(inp.aad)
  gcm.setAuthTag(inp.tag)
  const plaintext = gcm.update(inp.ciphertext)
  gcm.final()
  if (decryptOnly) return plaintext
  const key = inp.dsaEncoding ? { key: inp.issuerKey, dsaEncoding: inp.dsaEncoding } : inp.issuerKey
  if (!crypto.verify(inp.digest, inp.signingInput, key, inp.signature)) throw new Error('bad signature')
  return plaintext
}

/**
 * Alternates `a` and `b` sample by sample (A B B A ...), each sample `BATCH` sequential calls, and
 * records per sample both the wall time and the process CPU time (user + system, every thread: the
 * garbage collector's helpers included) per call. On a loaded machine the wall clock also counts
 * time the process was preempted; CPU time does not, so it is the steadier of the two there.
 */
async function alternating(a, b, samples) {
  const sample = async (fn, out) => {
    const cpu0 = process.cpuUsage()
    const t0 = performance.now()
    for (let i = 0; i < BATCH; i++) await fn()
    out.wall.push(((performance.now() - t0) * 1000) / BATCH)
    const cpu = process.cpuUsage(cpu0)
    out.cpu.push((cpu.user + cpu.system) / BATCH)
  }
  const warm = { wall: [], cpu: [] }
  for (let i = 0; i < 30; i++) {
    await sample(a, warm)
    await sample(b, warm)
  }
  const as = { wall: [], cpu: [] }
  const bs = { wall: [], cpu: [] }
  for (let i = 0; i < samples; i++) {
    if (i % 2 === 0) {
      await sample(a, as)
      await sample(b, bs)
    } else {
      await sample(b, bs)
      await sample(a, as)
    }
  }
  const quartiles = (list) => {
    const sorted = [...list].sort((x, y) => x - y)
    const at = (q) => sorted[Math.floor((sorted.length - 1) * q)]
    return { q1: at(0.25), median: at(0.5), q3: at(0.75) }
  }
  const summary = (side) => ({ wall: quartiles(side.wall), cpu: quartiles(side.cpu) })
  return { a: summary(as), b: summary(bs) }
}

async function benchPair(curve, alg) {
  const key = await generateKey({ curve })
  const issuer = await generateKey({ use: 'sig', alg })
  const keyring = createKeyring([key])
  const to = keyring.publicJwks()
  const tokens = []
  for (let i = 0; i < POOL; i++) tokens.push(await mint(grant, { to, signWith: issuer }))

  const { kid: _k, alg: _a, use: _u, ...material } = key
  const privateKey = crypto.createPrivateKey({ key: material, format: 'jwk' })
  const { kid: _ik, alg: _ia, use: _iu, ...issuerMaterial } = toPublicJwk(issuer)
  const issuerKey = crypto.createPublicKey({ key: issuerMaterial, format: 'jwk' })
  const inputs = tokens.map((t) => floorInputs(t, privateKey, issuerKey, alg))
  // The real path `keyhole serve` takes for a token it has not seen: createNodeOpener, trusted
  // issuer, grant cache off so that every open decrypts and verifies.
  const opener = createNodeOpener({ keyring, issuers: [toPublicJwk(issuer)], cacheSize: 0 })
  for (const t of tokens) await opener.open(t) // every token opens, and the issuer key is loaded
  for (const inp of inputs) floor(inp)

  let a = 0
  let b = 0
  globalThis.gc?.()
  const r = await alternating(
    () => floor(inputs[a++ % POOL]),
    () => opener.open(tokens[b++ % POOL]),
    SAMPLES,
  )
  return { label: `${curve} + ${alg}`, raw: r.a, open: r.b, tokenChars: tokens[0].length }
}

const started = Date.now()
const load = os.loadavg()
const pairs = [await benchPair('P-256', 'ES256'), await benchPair('X25519', 'EdDSA')]

const us = (x) => x.toFixed(0)
const spread = (q) => `${us(q.median)} (${us(q.q1)}–${us(q.q3)})`
const ratio = (p, clock) => p.open[clock].median / p.raw[clock].median
const verdict = (x) => (x <= TARGET ? 'met' : `**missed** (${((x / TARGET - 1) * 100).toFixed(0)}% over)`)
const lines = [
  '## open: the uncached open of a signed token against its raw node:crypto primitives',
  '',
  `\`npm run build -w @keyhole/core && node --expose-gc bench/open.mjs\` (or \`npm run bench -- open\`). Per curve pair, in one process,` +
    ` ${SAMPLES} alternating samples per side (A B B A ...), each ${BATCH} sequential operations over ${POOL} distinct tokens;` +
    ' medians (25th–75th percentile) of µs per operation, by the wall clock and by process CPU time (user + system, all' +
    ' threads). "Raw primitives" is the floor, on KeyObjects and inputs prepared outside the timed loop:' +
    ' `crypto.diffieHellman` + Concat KDF (one SHA-256) + AES-KW unwrap + AES-256-GCM decrypt + `crypto.verify` of the' +
    ' issuer signature (ES256 as `ieee-p1363`, EdDSA as Ed25519), with no parsing and no key import. "opener.open" is' +
    ' `createNodeOpener({ keyring, issuers, cacheSize: 0 })`, the path `keyhole serve` takes for a token it has not seen,' +
    ' with every check (shape, headers, signature, claims, policy, time, revocation). The verdict is on the wall-clock' +
    ' medians; the CPU-time ratio is the one to trust when the load average was well above zero.',
  '',
  '| encryption + signature | raw primitives, µs (wall) | opener.open, µs (wall) | ratio (wall) | target ≤ 1.3 | raw, CPU µs | open, CPU µs | ratio (CPU) |',
  '|---|---:|---:|---:|---|---:|---:|---:|',
  ...pairs.map(
    (p) =>
      `| ${p.label} | ${spread(p.raw.wall)} | ${spread(p.open.wall)} | ${ratio(p, 'wall').toFixed(2)} | ${verdict(ratio(p, 'wall'))} | ` +
      `${spread(p.raw.cpu)} | ${spread(p.open.cpu)} | ${ratio(p, 'cpu').toFixed(2)} |`,
  ),
  '',
  `Machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ` +
    `Node ${process.version} (OpenSSL ${process.versions.openssl}), ${os.platform()} ${os.release()}; load average ` +
    `${load.map((l) => l.toFixed(1)).join(', ')} at the start; run took ${Math.round((Date.now() - started) / 1000)} s. ` +
    `Keyhole code from ${keyhole.source}. Tokens minted by \`mint(grant, { to, signWith })\` (two hosts, two paths, two ` +
    `methods, one header credential): ${pairs[0].tokenChars} characters (P-256) and ${pairs[1].tokenChars} (X25519).`,
]
const markdown = `${lines.join('\n')}\n`
writeFileSync(join(root, 'bench/results/open.md'), markdown)
console.log(markdown)
