// bench/fastcrypto.mjs — the uncached open of a keyhole token: jose's WebCrypto compactDecrypt
// against the node:crypto decryptCompact of @keyhole/core/node, and against the raw node:crypto
// primitives alone on precomputed inputs (the floor), for P-256 and X25519, all in one run.
// Also the opener itself with its cache off (cacheSize: 0), once with jose and once with the
// node:crypto decryptor plugged into its `decrypt` option.
//
//   node --expose-gc bench/fastcrypto.mjs            (or: npm run bench -- fastcrypto)
//
// Imports the built package when @keyhole/core/node exports decryptCompact; otherwise bundles
// the TypeScript sources with esbuild into a temporary directory first.
import crypto from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { join } from 'node:path'
import { CompactEncrypt, calculateJwkThumbprint, compactDecrypt } from 'jose'

const root = new URL('..', import.meta.url).pathname
const ROUNDS = Number(process.env.FASTCRYPTO_ROUNDS ?? 7)
const SCALE = Number(process.env.FASTCRYPTO_SCALE ?? 1)

async function loadKeyhole() {
  try {
    const node = await import('@keyhole/core/node')
    const core = await import('@keyhole/core')
    if (typeof node.decryptCompact === 'function') return { node, core, source: '@keyhole/core/node (built)' }
  } catch {}
  const esbuild = await import('esbuild')
  const dir = mkdtempSync(join(os.tmpdir(), 'keyhole-fastcrypto-'))
  const entry = join(dir, 'entry.ts')
  writeFileSync(
    entry,
    `export * as node from ${JSON.stringify(join(root, 'packages/core/src/node/crypto/index.ts'))}\n` +
      `export * as core from ${JSON.stringify(join(root, 'packages/core/src/index.ts'))}\n`,
  )
  await esbuild.build({
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile: join(dir, 'bundle.mjs'),
    nodePaths: [join(root, 'node_modules')],
    logLevel: 'error',
  })
  const mod = await import(join(dir, 'bundle.mjs'))
  rmSync(dir, { recursive: true, force: true })
  return { ...mod, source: 'packages/core/src (bundled with esbuild into a temp dir)' }
}

const { node, core, source } = await loadKeyhole()
const { decryptCompact, prepareKey, nodeDecrypt } = node

async function keyPair(curve) {
  const pair =
    curve === 'X25519'
      ? crypto.generateKeyPairSync('x25519')
      : crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' })
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

async function tokensFor(key, n) {
  const out = []
  for (let i = 0; i < n; i++) {
    const claims = claimsFor(i)
    out.push(
      await new CompactEncrypt(new TextEncoder().encode(JSON.stringify(claims)))
        .setProtectedHeader({
          alg: 'ECDH-ES+A256KW',
          enc: 'A256GCM',
          kid: key.privateJwk.kid,
          typ: 'keyhole+jwt',
          hosts: claims.hosts,
        })
        .encrypt(key.publicJwk),
    )
  }
  return out
}

// The primitives a decryption cannot avoid, on inputs prepared outside the timed loop.
function rawInputs(key) {
  const eph =
    key.pair.privateKey.asymmetricKeyType === 'x25519'
      ? crypto.generateKeyPairSync('x25519')
      : crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' })
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
  return {
    privateKey: key.pair.privateKey,
    publicKey: eph.publicKey,
    otherInfo,
    wrapped,
    iv,
    aad,
    ciphertext,
    tag: g.getAuthTag(),
  }
}

function raw(inp) {
  const z = crypto.diffieHellman({ privateKey: inp.privateKey, publicKey: inp.publicKey })
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
  globalThis.gc?.()
  const cpu0 = process.cpuUsage()
  const t0 = process.hrtime.bigint()
  if (isAsync) for (let i = 0; i < ops; i++) await fn(i)
  else for (let i = 0; i < ops; i++) fn(i)
  const wall = Number(process.hrtime.bigint() - t0) / 1e3 / ops
  const cpu = process.cpuUsage(cpu0)
  return { wall, cpu: (cpu.user + cpu.system) / ops }
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}

async function benchCurve(curve) {
  const key = await keyPair(curve)
  const tokens = await tokensFor(key, 256)
  const pick = (i) => tokens[i & 255]
  // Same answers before timing anything.
  for (const t of tokens.slice(0, 20)) {
    const a = await compactDecrypt(t, key.privateJwk, {
      keyManagementAlgorithms: ['ECDH-ES+A256KW'],
      contentEncryptionAlgorithms: ['A256GCM'],
    })
    const b = decryptCompact(t, key.privateJwk)
    if (Buffer.compare(Buffer.from(a.plaintext), Buffer.from(b.plaintext)) !== 0)
      throw new Error('decryptors disagree')
  }
  const inputs = rawInputs(key)
  raw(inputs)
  const prepared = prepareKey(key.privateJwk)
  const joseOptions = {
    keyManagementAlgorithms: ['ECDH-ES+A256KW'],
    contentEncryptionAlgorithms: ['A256GCM'],
    maxDecompressedLength: 0,
  }

  const methods = [
    {
      name: 'jose compactDecrypt',
      ops: 600,
      isAsync: true,
      fn: (i) => compactDecrypt(pick(i), key.privateJwk, joseOptions),
    },
    {
      name: 'decryptCompact (JWK, cached by kid)',
      ops: 2500,
      fn: (i) => decryptCompact(pick(i), key.privateJwk),
    },
    { name: 'decryptCompact (prepared key)', ops: 2500, fn: (i) => decryptCompact(pick(i), prepared) },
    { name: 'raw primitives (DH + SHA-256 + unwrap + GCM)', ops: 2500, fn: () => raw(inputs) },
  ]

  let opener
  try {
    const keyring = core.createKeyring([key.privateJwk])
    const common = { keyring, cacheSize: 0, maxTtl: '24h' }
    const joseOpener = core.createOpener(common)
    const decrypt = nodeDecrypt ?? ((token, k) => decryptCompact(token, k).plaintext)
    const fastOpener = core.createOpener({ ...common, decrypt })
    await joseOpener.open(tokens[0])
    await fastOpener.open(tokens[0])
    methods.push(
      { name: 'opener.open, cache off, jose', ops: 600, isAsync: true, fn: (i) => joseOpener.open(pick(i)) },
      {
        name: 'opener.open, cache off, decryptCompact',
        ops: 2000,
        isAsync: true,
        fn: (i) => fastOpener.open(pick(i)),
      },
    )
  } catch (error) {
    opener = `opener rows skipped: ${error.message}`
  }

  for (const m of methods) await measure(m.fn, Math.ceil(m.ops / 4), m.isAsync) // warm-up
  const samples = new Map(methods.map((m) => [m.name, { wall: [], cpu: [] }]))
  for (let round = 0; round < ROUNDS; round++) {
    // Rotate the order every round so no method always runs first or last.
    for (let j = 0; j < methods.length; j++) {
      const m = methods[(j + round) % methods.length]
      const r = await measure(m.fn, Math.ceil(m.ops * SCALE), m.isAsync)
      samples.get(m.name).wall.push(r.wall)
      samples.get(m.name).cpu.push(r.cpu)
    }
  }
  const rows = methods.map((m) => {
    const s = samples.get(m.name)
    return { curve, name: m.name, wall: median(s.wall), cpu: median(s.cpu), walls: s.wall }
  })
  return { rows, opener, tokenChars: tokens[0].length }
}

const results = []
const notes = []
for (const curve of ['P-256', 'X25519']) {
  const { rows, opener, tokenChars } = await benchCurve(curve)
  results.push(...rows)
  if (opener) notes.push(`${curve}: ${opener}`)
  notes.push(`${curve}: token length ${tokenChars} characters`)
}

const byName = (curve, prefix) => results.find((r) => r.curve === curve && r.name.startsWith(prefix))
const fmt = (x) => (x >= 100 ? x.toFixed(0) : x.toFixed(1))
const lines = []
lines.push('## Uncached token open: node:crypto vs jose (bench/fastcrypto.mjs)')
lines.push('')
lines.push(
  `Each figure is the median of ${ROUNDS} rounds, the methods interleaved in rotating order within the same process; ` +
    'µs/op is wall time of sequential calls, CPU µs/op is user+system time of all threads (WebCrypto runs its work on the libuv pool). ' +
    'Ratios are against the raw primitives (diffieHellman on precomputed KeyObjects + one SHA-256 + AES-KW unwrap + AES-256-GCM decrypt) ' +
    'and against jose compactDecrypt, measured in the same run.',
)
lines.push('')
lines.push('| curve | method | ops/s | µs/op | CPU µs/op | × raw (CPU) | jose ÷ this (CPU) |')
lines.push('|---|---|---:|---:|---:|---:|---:|')
for (const r of results) {
  const rawRow = byName(r.curve, 'raw')
  const joseRow = byName(r.curve, 'jose')
  const isOpener = r.name.startsWith('opener')
  const openerJose = byName(r.curve, 'opener.open, cache off, jose')
  const base = isOpener ? openerJose : joseRow
  lines.push(
    `| ${r.curve} | ${r.name} | ${Math.round(1e6 / r.wall).toLocaleString('en-US')} | ${fmt(r.wall)} | ${fmt(r.cpu)} | ` +
      `${isOpener ? '—' : (r.cpu / rawRow.cpu).toFixed(2)} | ${(base.cpu / r.cpu).toFixed(2)} |`,
  )
}
lines.push('')
lines.push(
  'Targets (issue 6, row 3, for the decryption itself): decryptCompact within 1.5× of the raw primitives, and ≥ 2× faster than jose.',
)
lines.push('')
lines.push(
  '| curve | decryptCompact ÷ raw (CPU) | target ≤ 1.5 | jose ÷ decryptCompact (CPU) | jose ÷ decryptCompact (wall) | target ≥ 2 |',
)
lines.push('|---|---:|---|---:|---:|---|')
for (const curve of ['P-256', 'X25519']) {
  const fast = byName(curve, 'decryptCompact (JWK')
  const rawRow = byName(curve, 'raw')
  const joseRow = byName(curve, 'jose')
  const vsRaw = fast.cpu / rawRow.cpu
  const vsJose = joseRow.cpu / fast.cpu
  lines.push(
    `| ${curve} | ${vsRaw.toFixed(2)} | ${vsRaw <= 1.5 ? 'met' : `not met (${((vsRaw / 1.5 - 1) * 100).toFixed(0)}% over)`} | ` +
      `${vsJose.toFixed(2)} | ${(joseRow.wall / fast.wall).toFixed(2)} | ${vsJose >= 2 ? 'met' : 'not met'} |`,
  )
}
lines.push('')
lines.push('Every round (µs/op, wall), to show the spread:')
lines.push('')
for (const r of results) lines.push(`- ${r.curve}, ${r.name}: ${r.walls.map(fmt).join(', ')}`)
lines.push('')
const cpu = os.cpus()[0]?.model ?? 'unknown CPU'
lines.push(
  `Machine: ${os.cpus().length} × ${cpu}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version} ` +
    `(OpenSSL ${process.versions.openssl}), ${os.platform()} ${os.release()}. Keyhole code from ${source}.`,
)
for (const n of notes) lines.push(`${n}.`)
lines.push('')
lines.push('Command: `node --expose-gc bench/fastcrypto.mjs` (or `npm run bench -- fastcrypto`).')

const markdown = `${lines.join('\n')}\n`
writeFileSync(join(root, 'bench/results/fastcrypto.md'), markdown)
console.log(markdown)
