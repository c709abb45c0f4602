import { createHash, createHmac } from 'node:crypto'
import type { IncomingHttpHeaders } from 'node:http'

// An independent SigV4 verifier written from AWS's documentation ("Create a signed AWS API
// request"), for the tests: s3rver checks that a V4 Authorization header is well formed but does
// not recompute the signature, so the tests put this in front of it.

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex')
const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest()
const uriEncode = (s: string) =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
const decode = (s: string) => {
  try {
    return decodeURIComponent(s)
  } catch {
    return s
  }
}

export interface VerifyInput {
  method: string
  /** The request target as received: path and query. */
  target: string
  headers: IncomingHttpHeaders
  body: Buffer
  secretAccessKey: string
  service: string
}

/** Why the request fails verification, or `undefined` when it passes. */
export function sigV4Problem(input: VerifyInput): string | undefined {
  const auth = input.headers.authorization
  const match =
    /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/.exec(
      auth ?? '',
    )
  if (!match) return 'no SigV4 Authorization header'
  const [, , date, region, service, signedList, signature] = match as unknown as string[]
  if (service !== input.service) return 'wrong service'
  const amzDate = String(input.headers['x-amz-date'] ?? '')
  if (!amzDate.startsWith(date!)) return 'x-amz-date does not match the scope'
  const signed = signedList!.split(';')
  for (const required of ['host', 'x-amz-date', 'x-amz-content-sha256'])
    if (!signed.includes(required)) return `${required} is not signed`
  for (const name of Object.keys(input.headers))
    if (name.startsWith('x-amz-') && !signed.includes(name)) return `${name} is present but not signed`
  const payload = String(input.headers['x-amz-content-sha256'])
  if (/^[0-9a-f]{64}$/.test(payload) && payload !== sha256(input.body))
    return 'the payload hash does not match the body'
  const [path = '', query = ''] = input.target.split(/\?(.*)/s)
  const uri = path
    .split('/')
    .map((segment) => uriEncode(decode(segment)))
    .join('/')
  const canonicalUri = service === 's3' ? uri : uriEncode(uri).replaceAll('%2F', '/')
  const pairs = query
    .split('&')
    .filter(Boolean)
    .map((pair) => {
      const eq = pair.indexOf('=')
      const name = decode((eq === -1 ? pair : pair.slice(0, eq)).replaceAll('+', ' '))
      const value = eq === -1 ? '' : decode(pair.slice(eq + 1).replaceAll('+', ' '))
      return `${uriEncode(name)}=${uriEncode(value)}`
    })
    .sort()
  const canonicalHeaders = signed
    .map((name) => {
      const value = input.headers[name]
      const joined = Array.isArray(value) ? value.join(',') : String(value ?? '')
      return `${name}:${joined.trim().replace(/\s+/g, ' ')}\n`
    })
    .join('')
  const canonicalRequest = [
    input.method,
    canonicalUri,
    pairs.join('&'),
    canonicalHeaders,
    signedList,
    payload,
  ].join('\n')
  const scope = `${date}/${region}/${service}/aws4_request`
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonicalRequest)].join('\n')
  let key = hmac(`AWS4${input.secretAccessKey}`, date!)
  for (const part of [region!, service!, 'aws4_request']) key = hmac(key, part)
  const expected = createHmac('sha256', key).update(stringToSign).digest('hex')
  return expected === signature ? undefined : 'the signature does not match'
}
