// bench/fastcrypto.mjs — the uncached open of a keyhole token: jose's WebCrypto compactDecrypt
// against the node:crypto decryptCompact of @keyhole/core/node, and against the raw node:crypto
// primitives alone on precomputed inputs (the floor), for P-256 and X25519, all in one run.
// Also the opener itself with its cache off (cacheSize: 0), once with jose and once with the
// node:crypto decryptor plugged into its `decrypt` option.
//
//   node --expose-gc bench/fastcrypto.mjs            (or: npm run bench -- fastcrypto)
//
// Imports the built package when @keyhole/core/node exports decryptCompact; otherwise (or with
// FASTCRYPTO_FROM_SOURCE=1) bundles the TypeScript sources with esbuild into a temporary directory.
import crypto from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { join } from 'node:path'
import { CompactEncrypt, CompactSign, calculateJwkThumbprint, compactDecrypt } from 'jose'
import { keyPair } from './lib/key-pair.mjs'

const root = new URL('..', import.meta.url).pathname
// Many short rounds with every method in each, in rotating order, so that load from other
// processes on a shared machine hits all methods alike; ratios are taken within each round.
const ROUNDS = Number(process.env.FASTCRYPTO_ROUNDS ?? 21)
const SCALE = Number(process.env.FASTCRYPTO_SCALE ?? 1)

async function bundle(entry, dir, name) {
  const esbuild = await import('esbuild')
  const outfile = join(dir, `${name}.mjs`)
  await esbuild.build({
    entryPoints: [join(root, entry)],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile,
    logLevel: 'silent',
  })
  return import(outfile)
}

async function loadKeyhole() {
  // FASTCRYPTO_FROM_SOURCE=1 measures the working tree even when a (possibly older) build exists.
  if (!process.env.FASTCRYPTO_FROM_SOURCE)
    try {
      const node = await import('@keyhole/core/node')
      const core = await import('@keyhole/core')
      if (typeof node.decryptCompact === 'function')
        return { node, core, source: '@keyhole/core/node (built)' }
    } catch {}
  const dir = mkdtempSync(join(os.tmpdir(), 'keyhole-fastcrypto-'))
  try {
    const node = await bundle('packages/core/src/node/crypto/index.ts', dir, 'fastcrypto')
    // The opener rows are optional: the rest of core may be mid-change in a working tree.
    const core = await bundle('packages/core/src/index.ts', dir, 'core').catch(() => undefined)
    return { node, core, source: 'packages/core/src (bundled with esbuild into a temp dir)' }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

const { node, core, source } = await loadKeyhole()
const { decryptCompact, prepareKey, nodeDecrypt } = node

async function recipientKey(curve) {
  const pair = keyPair(curve)
  const jwk = pair.privateKey.export({ format: 'jwk' })
  const privateJwk = { ...jwk, kid: await calculateJwkThumbprint(jwk), alg: 'ECDH-ES+A256KW', use: 'enc' }
  const { d: _d, ...publicJwk } = privateJwk
  return { pair, privateJwk, publicJwk }
}

// A realistic grant: two hosts, a path list, one header credential.
const claimsFor = (i) => ({
  jti: crypto.randomUUID(),
  iat: Math.floor(Date.now() / 1000),
  exp: Math.floor(Date.now() / 1000) + 3600,
  sub: `agent-${i}`,
  hosts: ['api.github.com', '*.githubusercontent.com'],
  paths: ['/repos/acme/**', '/user'],
  methods: ['GET', 'POST'],
  inject: [
    {
      in: 'header',
      name: 'Authorization',
      value: `Bearer ghp_${crypto.randomBytes(18).toString('base64url')}`,
    },
  ],
})

// The issuer that signs every token's grant (ES256, as `mint(grant, { to, signWith })` does);
// the openers trust its public half.
const issuerPair = keyPair('P-256')
const issuerJwk = issuerPair.publicKey.export({ format: 'jwk' })
const issuerPublicJwk = {
  ...issuerJwk,
  kid: await calculateJwkThumbprint(issuerJwk),
  alg: 'ES256',
  use: 'sig',
}

async function tokensFor(key, n) {
  const out = []
  for (let i = 0; i < n; i++) {
    const claims = claimsFor(i)
    const jws = await new CompactSign(new TextEncoder().encode(JSON.stringify(claims)))
      .setProtectedHeader({ alg: 'ES256', kid: issuerPublicJwk.kid, typ: 'keyhole-grant+jwt' })
      .sign(issuerPair.privateKey)
    out.push(
      await new CompactEncrypt(new TextEncoder().encode(jws))
        .setProtectedHeader({
          alg: 'ECDH-ES+A256KW',
          enc: 'A256GCM',
          kid: key.privateJwk.kid,
          typ: 'keyhole+jwt',
          cty: 'JWT',
          hosts: claims.hosts,
        })
        .encrypt(key.publicJwk),
    )
  }
  return out
}

// The primitives a decryption cannot avoid, on inputs prepared outside the timed loop.
function rawInputs(key) {
  const eph = keyPair(key.pair.privateKey.asymmetricKeyType === 'x25519' ? 'X25519' : 'P-256')
  const z = crypto.diffieHellman({ privateKey: eph.privateKey, publicKey: key.pair.publicKey })
  const alg = Buffer.from('ECDH-ES+A256KW')
  const u32 = (n) => {
    const b = Buffer.alloc(4)
    b.writeUInt32BE(n)
    return b
  }
  const otherInfo = Buffer.concat([u32(alg.length), alg, u32(0), u32(0), u32(256)])
  const kek = crypto.hash('sha256', Buffer.concat([u32(1), z, otherInfo]), 'buffer')
  const cek = crypto.randomBytes(32)
  const w = crypto.createCipheriv('id-aes256-wrap', kek, Buffer.from('a6a6a6a6a6a6a6a6', 'hex'))
  const wrapped = Buffer.concat([w.update(cek), w.final()])
  const iv = crypto.randomBytes(12)
  const aad = Buffer.from('x'.repeat(330)) // about a keyhole header segment
  const g = crypto.createCipheriv('aes-256-gcm', cek, iv, { authTagLength: 16 })
  g.setAAD(aad)
  const ciphertext = Buffer.concat([g.update(JSON.stringify(claimsFor(0))), g.final()])
  const epk = eph.publicKey.export({ format: 'jwk' })
  let ecdh
  if (epk.kty === 'EC') {
    ecdh = crypto.createECDH('prime256v1')
    ecdh.setPrivateKey(Buffer.from(key.privateJwk.d, 'base64url'))
  }
  return {
    privateKey: key.pair.privateKey,
    publicKey: eph.publicKey,
    epk,
    ecdh,
    otherInfo,
    wrapped,
    iv,
    aad,
    ciphertext,
    tag: g.getAuthTag(),
  }
}

// The key agreement any node:crypto decryptor must do per token, including taking in the
// ephemeral key: the cheapest way per curve on Node 20 (a raw point into an ECDH object for P-256,
// a JWK into a KeyObject for X25519; SPKI DER is several times slower through OpenSSL 3's decoders).
function agreeWithImport(inp) {
  if (inp.ecdh) {
    const point = Buffer.concat([
      Buffer.of(4),
      Buffer.from(inp.epk.x, 'base64url'),
      Buffer.from(inp.epk.y, 'base64url'),
    ])
    return inp.ecdh.computeSecret(point)
  }
  const publicKey = crypto.createPublicKey({
    key: { kty: 'OKP', crv: 'X25519', x: inp.epk.x },
    format: 'jwk',
  })
  return crypto.diffieHellman({ privateKey: inp.privateKey, publicKey })
}

function raw(inp, withImport = false) {
  const z = withImport
    ? agreeWithImport(inp)
    : crypto.diffieHellman({ privateKey: inp.privateKey, publicKey: inp.publicKey })
  const input = Buffer.allocUnsafe(4 + z.length + inp.otherInfo.length)
  input.writeUInt32BE(1, 0)
  input.set(z, 4)
  input.set(inp.otherInfo, 4 + z.length)
  const kek = crypto.hash('sha256', input, 'buffer')
  const kw = crypto.createDecipheriv('id-aes256-wrap', kek, Buffer.from('a6a6a6a6a6a6a6a6', 'hex'))
  const cek = kw.update(inp.wrapped)
  kw.final()
  const gcm = crypto.createDecipheriv('aes-256-gcm', cek, inp.iv, { authTagLength: 16 })
  gcm.setAAD(inp.aad)
  gcm.setAuthTag(inp.tag)
  const plaintext = gcm.update(inp.ciphertext)
  gcm.final()
  return plaintext
}

/** Runs `ops` operations; returns wall and CPU (user+system, all threads) microseconds per op. */
async function measure(fn, ops, isAsync) {
  // Collect the previous block's garbage (jose leaves a lot) so that it is not billed to this one.
  globalThis.gc?.()
  const cpu0 = process.cpuUsage()
  const t0 = process.hrtime.bigint()
  if (isAsync) for (let i = 0; i < ops; i++) await fn(i)
  else for (let i = 0; i < ops; i++) fn(i)
  const wall = Number(process.hrtime.bigint() - t0) / 1e3 / ops
  const cpu = process.cpuUsage(cpu0)
  return { wall, cpu: (cpu.user + cpu.system) / ops }
}

const quantile = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b)
  const at = (s.length - 1) * q
  const lo = Math.floor(at)
  return s[lo] + (s[Math.ceil(at)] - s[lo]) * (at - lo)
}
const median = (xs) => quantile(xs, 0.5)

const JOSE = 'jose compactDecrypt'
const FAST = 'decryptCompact (JWK, cached by kid)'
const PREPARED = 'decryptCompact (prepared key)'
const RAW = 'raw primitives (DH + SHA-256 + unwrap + GCM)'
const RAW_IMPORT = 'raw primitives + ephemeral key import'
const OPEN_JOSE = 'opener.open, cache off, jose'
const OPEN_FAST = 'opener.open, cache off, nodeDecrypt'

async function benchCurve(curve) {
  const key = await recipientKey(curve)
  const tokens = await tokensFor(key, 256)
  const pick = (i) => tokens[i & 255]
  const joseOptions = {
    keyManagementAlgorithms: ['ECDH-ES+A256KW'],
    contentEncryptionAlgorithms: ['A256GCM'],
    maxDecompressedLength: 0,
  }
  // Same answers before timing anything.
  for (const t of tokens.slice(0, 20)) {
    const a = await compactDecrypt(t, key.privateJwk, joseOptions)
    const b = decryptCompact(t, key.privateJwk)
    if (Buffer.compare(Buffer.from(a.plaintext), Buffer.from(b.plaintext)) !== 0)
      throw new Error('decryptors disagree')
  }
  const inputs = rawInputs(key)
  if (!raw(inputs).equals(raw(inputs, true))) throw new Error('raw paths disagree')
  const prepared = prepareKey(key.privateJwk)

  // ops per round: about 50–100 ms of CPU each on a 2-core EPYC.
  const methods = [
    { name: JOSE, ops: 100, isAsync: true, fn: (i) => compactDecrypt(pick(i), key.privateJwk, joseOptions) },
    { name: FAST, ops: 600, fn: (i) => decryptCompact(pick(i), key.privateJwk) },
    { name: PREPARED, ops: 600, fn: (i) => decryptCompact(pick(i), prepared) },
    { name: RAW, ops: 800, fn: () => raw(inputs) },
    { name: RAW_IMPORT, ops: 700, fn: () => raw(inputs, true) },
  ]

  let skipped
  try {
    if (!core) throw new Error('packages/core/src did not bundle')
    const keyring = core.createKeyring([key.privateJwk])
    const common = { keyring, issuers: [issuerPublicJwk], cacheSize: 0, maxTtl: '24h' }
    const joseOpener = core.createOpener(common)
    const decrypt = nodeDecrypt ?? ((token, k) => decryptCompact(token, k).plaintext)
    const fastOpener = core.createOpener({ ...common, decrypt })
    await joseOpener.open(tokens[0])
    await fastOpener.open(tokens[0])
    methods.push(
      { name: OPEN_JOSE, ops: 100, isAsync: true, fn: (i) => joseOpener.open(pick(i)) },
      { name: OPEN_FAST, ops: 500, isAsync: true, fn: (i) => fastOpener.open(pick(i)) },
    )
  } catch (error) {
    skipped = `opener rows skipped: ${error.message}`
  }

  for (const m of methods) await measure(m.fn, m.ops * 3, m.isAsync) // warm-up
  const rounds = []
  for (let round = 0; round < ROUNDS; round++) {
    const r = {}
    // Rotate the order every round so no method always runs first or last.
    for (let j = 0; j < methods.length; j++) {
      const m = methods[(j + round) % methods.length]
      r[m.name] = await measure(m.fn, Math.max(1, Math.round(m.ops * SCALE)), m.isAsync)
    }
    rounds.push(r)
  }
  const stat = (name, field) => median(rounds.map((r) => r[name][field]))
  const ratio = (a, b) => {
    const xs = rounds.map((r) => r[a].cpu / r[b].cpu)
    return { median: median(xs), p25: quantile(xs, 0.25), p75: quantile(xs, 0.75) }
  }
  const rows = methods.map((m) => ({
    curve,
    name: m.name,
    wall: stat(m.name, 'wall'),
    cpu: stat(m.name, 'cpu'),
  }))
  const ratios = {
    fastVsRaw: ratio(FAST, RAW),
    preparedVsRaw: ratio(PREPARED, RAW),
    fastVsRawImport: ratio(FAST, RAW_IMPORT),
    joseVsFast: ratio(JOSE, FAST),
    joseVsRaw: ratio(JOSE, RAW),
    joseVsFastWall: median(rounds.map((r) => r[JOSE].wall / r[FAST].wall)),
    openers: skipped ? undefined : ratio(OPEN_JOSE, OPEN_FAST),
  }
  return { rows, ratios, skipped, tokenChars: tokens[0].length }
}

const started = Date.now()
const load = os.loadavg()[0]
const perCurve = {}
for (const curve of ['P-256', 'X25519']) perCurve[curve] = await benchCurve(curve)

const fmt = (x) => (x >= 100 ? x.toFixed(0) : x.toFixed(1))
const r2 = (x) => x.toFixed(2)
const spread = (q) => `${r2(q.median)} (${r2(q.p25)}–${r2(q.p75)})`
const lines = []
lines.push('## Uncached token open: node:crypto vs jose (bench/fastcrypto.mjs)')
lines.push('')
lines.push(
  `${ROUNDS} rounds per curve; each round runs every method for a block of 50–100 ms of CPU, in rotating order, in one process. ` +
    'Per-method figures are medians over rounds: µs/op is wall time of sequential calls, CPU µs/op is user+system time of the ' +
    'whole process (all threads: WebCrypto does its work on the libuv pool). Ratios are CPU ratios taken within each round, then ' +
    'the median (25th–75th percentile). "Raw primitives" is the floor: `crypto.diffieHellman` on precomputed KeyObjects + one ' +
    'SHA-256 + AES-KW unwrap + AES-256-GCM decrypt, no parsing and no ephemeral-key import; "+ ephemeral key import" adds ' +
    "taking in the token's epk the cheapest way node:crypto allows (raw point into an ECDH object for P-256, JWK into a " +
    "KeyObject for X25519), so decryptCompact ÷ that is the cost of keyhole's own parsing and checks.",
)
lines.push('')
lines.push('| curve | method | ops/s | µs/op (wall) | CPU µs/op |')
lines.push('|---|---|---:|---:|---:|')
for (const curve of Object.keys(perCurve)) {
  for (const r of perCurve[curve].rows) {
    lines.push(
      `| ${curve} | ${r.name} | ${Math.round(1e6 / r.wall).toLocaleString('en-US')} | ${fmt(r.wall)} | ${fmt(r.cpu)} |`,
    )
  }
}
lines.push('')
lines.push(
  'Targets (issue 6, row 3, for the decryption itself): decryptCompact within 1.5× of the raw primitives, and at least 2× faster than jose.',
)
lines.push('')
lines.push(
  '| curve | decryptCompact ÷ raw | (prepared key) ÷ raw | target ≤ 1.5 | decryptCompact ÷ (raw + epk import) | jose ÷ decryptCompact | (wall) | target ≥ 2 | jose ÷ raw | opener (cache off): jose ÷ nodeDecrypt |',
)
lines.push('|---|---:|---:|---|---:|---:|---:|---|---:|---:|')
for (const curve of Object.keys(perCurve)) {
  const q = perCurve[curve].ratios
  const vsRaw = q.fastVsRaw.median
  lines.push(
    `| ${curve} | ${spread(q.fastVsRaw)} | ${spread(q.preparedVsRaw)} | ${vsRaw <= 1.5 ? 'met' : `not met (${((vsRaw / 1.5 - 1) * 100).toFixed(0)}% over)`} | ` +
      `${spread(q.fastVsRawImport)} | ` +
      `${spread(q.joseVsFast)} | ${r2(q.joseVsFastWall)} | ${q.joseVsFast.median >= 2 ? 'met' : 'not met'} | ${r2(q.joseVsRaw.median)} | ` +
      `${q.openers ? spread(q.openers) : '—'} |`,
  )
}
lines.push('')
const cpuModel = os.cpus()[0]?.model ?? 'unknown CPU'
lines.push(
  `Machine: ${os.cpus().length} × ${cpuModel}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version} ` +
    `(OpenSSL ${process.versions.openssl}), ${os.platform()} ${os.release()}; 1-minute load average ${load.toFixed(1)} at the start ` +
    `(other work was running on the machine), run took ${Math.round((Date.now() - started) / 1000)} s. ` +
    `Keyhole code from ${source}. Tokens: keyhole-shaped (kid, typ, hosts in the header; two hosts, two paths, one credential), ` +
    `${perCurve['P-256'].tokenChars} characters (P-256) and ${perCurve.X25519.tokenChars} (X25519); 256 distinct tokens per curve, cycled.`,
)
for (const curve of Object.keys(perCurve))
  if (perCurve[curve].skipped) lines.push(`${curve}: ${perCurve[curve].skipped}.`)
lines.push('')
lines.push(
  'Command: `npm run bench -- fastcrypto`, or `node --expose-gc bench/fastcrypto.mjs` after `npm run build -w @keyhole/core` (add `FASTCRYPTO_FROM_SOURCE=1` to measure the working tree without a build). `--expose-gc` lets every block start from a collected heap.',
)

const markdown = `${lines.join('\n')}\n`
writeFileSync(join(root, 'bench/results/fastcrypto.md'), markdown)
console.log(markdown)
