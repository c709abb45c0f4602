import type { Sha256 } from '@aws-crypto/sha256-js'
import { type InjectEntry, type Injector, KeyholeError } from '@keyhole/core'
import type { SignatureV4 } from '@smithy/signature-v4'

/** `{ type: 'aws-sigv4', accessKeyId, secretAccessKey, sessionToken?, region, service }`. */
export type AwsSigV4Injection = InjectEntry & {
  readonly type: 'aws-sigv4'
  readonly accessKeyId: string
  readonly secretAccessKey: string
  readonly sessionToken?: string
  /** The signing region, e.g. `us-east-1`. */
  readonly region: string
  /** The signing name of the service, e.g. `s3`, `execute-api`, `bedrock`. */
  readonly service: string
}

const CONTENT_SHA256 = 'x-amz-content-sha256'
const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD'
const STREAMING_UNSIGNED = 'STREAMING-UNSIGNED-PAYLOAD-TRAILER'
const HEX_SHA256 = /^[0-9a-f]{64}$/
const REGION_OR_SERVICE = /^[a-z0-9][a-z0-9-]{0,62}$/
// Part of `Credential=<id>/<scope>`: no `/`, `,`, `=` or whitespace may break that apart.
const ACCESS_KEY_ID = /^[A-Za-z0-9_.+-]{1,128}$/
const VISIBLE_ASCII = /^[\x21-\x7e]+$/

function invalid(message: string): never {
  throw new KeyholeError('invalid_grant', message)
}

function text(
  entry: Readonly<Record<string, unknown>>,
  field: string,
  where: string,
  pattern: RegExp,
): string {
  const value = entry[field]
  if (typeof value !== 'string' || value.length === 0) invalid(`${where}.${field} must be a non-empty string`)
  if (!pattern.test(value)) invalid(`${where}.${field} has characters it may not have`)
  return value
}

// RFC 3986 unreserved characters stay; everything else is %XX, upper case (SigV4's UriEncode).
function uriEncode(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  )
}

function lenientDecode(value: string): string {
  try {
    return decodeURIComponent(value)
  } catch {
    return value
  }
}

/** The path as SigV4 wants it once-encoded: each segment decoded, then strictly re-encoded. */
function canonicalPath(pathname: string): string {
  return pathname
    .split('/')
    .map((segment) => uriEncode(lenientDecode(segment)))
    .join('/')
}

/** The query as the upstream will decode it: repeated names become lists. */
function queryRecord(search: string): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = {}
  if (search.length <= 1) return query
  for (const part of search.slice(1).split('&')) {
    if (part === '') continue
    const eq = part.indexOf('=')
    const name = lenientDecode((eq === -1 ? part : part.slice(0, eq)).replaceAll('+', ' '))
    const value = eq === -1 ? '' : lenientDecode(part.slice(eq + 1).replaceAll('+', ' '))
    const existing = query[name]
    if (existing === undefined) query[name] = value
    else if (Array.isArray(existing)) existing.push(value)
    else query[name] = [existing, value]
  }
  return query
}

interface Signing {
  readonly Sha256: typeof Sha256
  readonly SignatureV4: typeof SignatureV4
}
let signing: Promise<Signing> | undefined

// The signer and its hash load with the first request to sign, not with this module: keyhole
// serve registers this injector at start, and a proxy that never sees an aws-sigv4 grant should
// not hold them in memory (they are about as large as the rest of the proxy's start).
function loadSigning(): Promise<Signing> {
  signing ??= Promise.all([import('@aws-crypto/sha256-js'), import('@smithy/signature-v4')]).then(
    ([hash, signer]) => ({ Sha256: hash.Sha256, SignatureV4: signer.SignatureV4 }),
    (error: unknown) => {
      signing = undefined
      throw error
    },
  )
  return signing
}

async function sha256Hex(body: Uint8Array): Promise<string> {
  const { Sha256 } = await loadSigning()
  const hash = new Sha256()
  hash.update(body)
  const digest = await hash.digest()
  return Array.from(digest, (byte) => byte.toString(16).padStart(2, '0')).join('')
}

// SignatureV4 caches derived signing keys; one signer per entry object (entries live as long as
// their cached grant).
const signers = new WeakMap<AwsSigV4Injection, SignatureV4>()

async function signerFor(entry: AwsSigV4Injection): Promise<SignatureV4> {
  let signer = signers.get(entry)
  if (!signer) {
    const { Sha256, SignatureV4 } = await loadSigning()
    signer = new SignatureV4({
      credentials: {
        accessKeyId: entry.accessKeyId,
        secretAccessKey: entry.secretAccessKey,
        ...(entry.sessionToken !== undefined && { sessionToken: entry.sessionToken }),
      },
      region: entry.region,
      service: entry.service,
      sha256: Sha256,
      // The path handed over is already once-encoded (canonicalPath); every service but S3 wants
      // it encoded a second time.
      uriEscapePath: entry.service !== 's3',
      applyChecksum: false,
    })
    signers.set(entry, signer)
  }
  return signer
}

/**
 * The payload hash to sign: the client's `X-Amz-Content-Sha256` as is when the body streams
 * through (the upstream checks it against the body), the hash of the final body when the engine
 * buffered it (another injector may have changed it), and the empty body's hash when there is
 * none. Signed-chunk payloads cannot be re-signed yet: `bad_request`.
 */
async function payloadHash(request: { headers: Headers; body: Uint8Array | null }): Promise<string> {
  const sent = request.headers.get(CONTENT_SHA256)
  if (sent !== null) {
    if (sent === STREAMING_UNSIGNED) return sent
    if (sent.startsWith('STREAMING-'))
      throw new KeyholeError(
        'bad_request',
        'signed-chunk (STREAMING-AWS4-*) payloads cannot be re-signed by keyhole',
        { reason: 'sigv4_payload' },
      )
    if (sent !== UNSIGNED_PAYLOAD && !HEX_SHA256.test(sent))
      throw new KeyholeError(
        'bad_request',
        'X-Amz-Content-Sha256 must be a SHA-256, UNSIGNED-PAYLOAD or STREAMING-UNSIGNED-PAYLOAD-TRAILER',
        { reason: 'sigv4_payload' },
      )
    if (request.body === null) return sent
  }
  return sha256Hex(request.body ?? new Uint8Array(0))
}

/**
 * Whether a header is signed: `host`, `content-type`, `content-md5` and every `x-amz-*` header
 * (S3 refuses unsigned `x-amz-*` headers). Nothing else, so a header a forwarder sets or
 * rewrites after injection (`user-agent`, `accept-encoding`, `content-length`) cannot break the
 * signature.
 */
function isSigned(name: string): boolean {
  return name === 'content-type' || name === 'content-md5' || name.startsWith('x-amz-')
}

/**
 * `{ type: 'aws-sigv4', accessKeyId, secretAccessKey, sessionToken?, region, service }`: re-signs
 * the outgoing request with AWS Signature Version 4 (`@smithy/signature-v4`), as the last step
 * (`signs: true`). Drops inbound `Authorization`, `X-Amz-Date` and `X-Amz-Security-Token`.
 *
 * - Payload: when the client sent `X-Amz-Content-Sha256` (a hash, `UNSIGNED-PAYLOAD` or
 *   `STREAMING-UNSIGNED-PAYLOAD-TRAILER`) that value is signed as is and the body is not
 *   buffered; otherwise (`needsBody`) the buffered body is hashed and the header set. When the
 *   body was buffered anyway (another injector changed it), the final body is hashed instead of
 *   trusting the client. `STREAMING-AWS4-HMAC-SHA256-PAYLOAD…` is `bad_request`.
 * - Signed headers: `host`, `content-type`, `content-md5` and every `x-amz-*` header.
 * - Path: each segment decoded and strictly re-encoded; encoded once more for every service but
 *   `s3`, as SigV4 says.
 * - Secrets: the secret access key, the session token, and each request's `Authorization` value
 *   and signature (returned by `apply`).
 *
 * @example
 * ```ts
 * import { createInjectorRegistry, createProxy, mint } from '@keyhole/core'
 * import { awsSigV4Injector } from '@keyhole/aws'
 *
 * const injectors = createInjectorRegistry([awsSigV4Injector])
 * const token = await mint({
 *   hosts: ['my-bucket.s3.eu-west-1.amazonaws.com'],
 *   inject: [{ type: 'aws-sigv4', accessKeyId: 'AKIA...', secretAccessKey: '...', region: 'eu-west-1', service: 's3' }],
 *   ttl: '1h',
 * }, { to: jwks, signWith: issuer, injectors })
 * ```
 */
export const awsSigV4Injector: Injector<AwsSigV4Injection> = Object.freeze<Injector<AwsSigV4Injection>>({
  type: 'aws-sigv4',
  fields: Object.freeze(['accessKeyId', 'secretAccessKey', 'sessionToken', 'region', 'service']),
  signs: true,
  validate(entry: Readonly<Record<string, unknown>>, where: string): void {
    text(entry, 'accessKeyId', where, ACCESS_KEY_ID)
    text(entry, 'secretAccessKey', where, VISIBLE_ASCII)
    if (entry.sessionToken !== undefined) text(entry, 'sessionToken', where, VISIBLE_ASCII)
    text(entry, 'region', where, REGION_OR_SERVICE)
    text(entry, 'service', where, REGION_OR_SERVICE)
  },
  writesHeaders: () => ['authorization', 'x-amz-date', 'x-amz-security-token'],
  needsBody: (_entry, request) => !request.headers.has(CONTENT_SHA256),
  async apply(request, entry, context) {
    request.headers.delete('authorization')
    request.headers.delete('x-amz-date')
    request.headers.delete('x-amz-security-token')
    const hash = await payloadHash(request)
    request.headers.set(CONTENT_SHA256, hash)
    const headers: Record<string, string> = { host: request.url.host }
    for (const [name, value] of request.headers) if (isSigned(name)) headers[name] = value
    const url = request.url
    const signed = await (await signerFor(entry)).sign(
      {
        method: request.method,
        protocol: url.protocol,
        hostname: url.hostname,
        ...(url.port !== '' && { port: Number(url.port) }),
        path: canonicalPath(url.pathname),
        query: queryRecord(url.search),
        headers,
      },
      { signingDate: new Date(context.now()) },
    )
    const authorization = signed.headers.authorization
    const date = signed.headers['x-amz-date']
    if (authorization === undefined || date === undefined)
      throw new KeyholeError('bad_request', 'the request could not be signed')
    request.headers.set('authorization', authorization)
    request.headers.set('x-amz-date', date)
    const token = signed.headers['x-amz-security-token']
    if (token !== undefined) request.headers.set('x-amz-security-token', token)
    const signature = authorization.slice(authorization.lastIndexOf('Signature=') + 'Signature='.length)
    return { secrets: [authorization, signature] }
  },
  secrets: (entry) =>
    entry.sessionToken === undefined ? [entry.secretAccessKey] : [entry.secretAccessKey, entry.sessionToken],
})
