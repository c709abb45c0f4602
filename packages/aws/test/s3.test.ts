import { mkdtemp, rm } from 'node:fs/promises'
import { createServer, request as httpRequest, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type InjectContext, isKeyholeError, type OutgoingRequest } from '@keyhole/core'
import S3rver from 's3rver'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type AwsSigV4Injection, awsSigV4Injector } from '../src/index.js'
import { sigV4Problem } from './verify-sigv4.js'

// s3rver's default account.
const entry: AwsSigV4Injection = Object.freeze({
  type: 'aws-sigv4',
  accessKeyId: 'S3RVER',
  secretAccessKey: 'S3RVER',
  region: 'us-east-1',
  service: 's3',
})
const context: InjectContext = { fetch: globalThis.fetch, checkUrl: () => {}, now: Date.now }

let s3: S3rver
let directory: string
let verifier: Server
let origin: string
const verdicts: (string | undefined)[] = []

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'keyhole-s3-'))
  s3 = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory,
    configureBuckets: [{ name: 'bucket' }],
  })
  const { port: s3Port } = await s3.run()
  // The verifier recomputes each signature, refuses a bad one with 403, and passes a good request
  // on to s3rver byte for byte.
  verifier = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      const body = Buffer.concat(chunks)
      const problem = sigV4Problem({
        method: req.method!,
        target: req.url!,
        headers: req.headers,
        body,
        secretAccessKey: entry.secretAccessKey,
        service: 's3',
      })
      verdicts.push(problem)
      if (problem) {
        res.writeHead(403, { 'content-type': 'text/plain' }).end(problem)
        return
      }
      const upstream = httpRequest(
        { host: '127.0.0.1', port: s3Port, method: req.method, path: req.url, headers: req.headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers)
          answer.pipe(res)
        },
      )
      upstream.end(body)
    })
  })
  await new Promise<void>((resolve) => verifier.listen(0, '127.0.0.1', resolve))
  origin = `http://127.0.0.1:${(verifier.address() as AddressInfo).port}`
})

afterAll(async () => {
  verifier.closeAllConnections()
  await new Promise<void>((resolve) => verifier.close(() => resolve()))
  await s3.close()
  await rm(directory, { recursive: true, force: true })
})

function outgoing(
  path: string,
  method: string,
  headers: Record<string, string>,
  body: string | null,
): OutgoingRequest {
  return {
    method,
    url: new URL(`${origin}${path}`),
    headers: new Headers(headers),
    body: body === null ? null : new TextEncoder().encode(body),
  }
}

async function send(
  request: OutgoingRequest,
  body: BodyInit | null = request.body as BodyInit | null,
): Promise<Response> {
  return fetch(request.url, {
    method: request.method,
    headers: request.headers,
    body,
    ...(body instanceof ReadableStream && { duplex: 'half' }),
  } as RequestInit)
}

describe('aws-sigv4 against s3rver, every signature recomputed independently', () => {
  it('signs a PUT of a buffered body and a GET, replacing what the client sent', async () => {
    const path = '/bucket/dir/some%20key(1)+%C3%A9.txt'
    const put = outgoing(
      path,
      'PUT',
      {
        'content-type': 'text/plain',
        authorization:
          'AWS4-HMAC-SHA256 Credential=SANDBOX/20000101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00',
        'x-amz-date': '20000101T000000Z',
        'x-amz-security-token': 'sandbox-token',
        'x-amz-meta-note': 'from the sandbox',
      },
      'hello, s3 — 12345678901234567890',
    )
    expect(awsSigV4Injector.needsBody(entry, put)).toBe(true)
    const applied = await awsSigV4Injector.apply(put, entry, context)
    const authorization = put.headers.get('authorization')!
    expect(authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=S3RVER\/\d{8}\/us-east-1\/s3\/aws4_request, SignedHeaders=/,
    )
    expect(authorization).toContain('x-amz-meta-note')
    expect(put.headers.has('x-amz-security-token')).toBe(false)
    expect(applied).toEqual({ secrets: [authorization, authorization.split('Signature=')[1]] })
    const stored = await send(put)
    expect(stored.status, await stored.clone().text()).toBe(200)
    expect(verdicts.at(-1)).toBeUndefined()

    const get = outgoing(`${path}?response-content-type=text%2Fplain&x-id=GetObject`, 'GET', {}, null)
    expect(awsSigV4Injector.needsBody(entry, get)).toBe(true)
    await awsSigV4Injector.apply(get, entry, context)
    const fetched = await send(get)
    expect(fetched.status).toBe(200)
    expect(await fetched.text()).toBe('hello, s3 — 12345678901234567890')
    expect(fetched.headers.get('x-amz-meta-note')).toBe('from the sandbox')
  })

  it('signs the client UNSIGNED-PAYLOAD as is, so the body streams unbuffered', async () => {
    const put = outgoing(
      '/bucket/streamed.txt',
      'PUT',
      { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', 'content-type': 'text/plain' },
      null,
    )
    expect(awsSigV4Injector.needsBody(entry, put)).toBe(false)
    await awsSigV4Injector.apply(put, entry, context)
    expect(put.headers.get('x-amz-content-sha256')).toBe('UNSIGNED-PAYLOAD')
    const stream = new Blob(['streamed ', 'body']).stream()
    const stored = await send(put, stream)
    expect(stored.status).toBe(200)
    const get = outgoing('/bucket/streamed.txt', 'GET', {}, null)
    await awsSigV4Injector.apply(get, entry, context)
    expect(await (await send(get)).text()).toBe('streamed body')
  })

  it('hashes the final buffered body rather than trusting a client hash for it', async () => {
    const put = outgoing(
      '/bucket/changed.txt',
      'PUT',
      { 'x-amz-content-sha256': '0'.repeat(64) },
      'final body',
    )
    await awsSigV4Injector.apply(put, entry, context)
    expect(put.headers.get('x-amz-content-sha256')).not.toBe('0'.repeat(64))
    expect((await send(put)).status).toBe(200)
  })

  it('signs a session token, and the verifier refuses a request changed after signing', async () => {
    const withToken = { ...entry, sessionToken: 'session-token-value' }
    const get = outgoing('/bucket/streamed.txt', 'GET', {}, null)
    await awsSigV4Injector.apply(get, withToken, context)
    expect(get.headers.get('x-amz-security-token')).toBe('session-token-value')
    expect((await send(get)).status).toBe(200)
    expect(awsSigV4Injector.secrets(withToken)).toEqual(['S3RVER', 'session-token-value'])

    const tampered = outgoing('/bucket/streamed.txt', 'GET', {}, null)
    await awsSigV4Injector.apply(tampered, entry, context)
    tampered.url.pathname = '/bucket/changed.txt'
    const refused = await send(tampered)
    expect(refused.status).toBe(403)
    expect(verdicts.at(-1)).toBe('the signature does not match')
  })

  it('refuses signed-chunk payloads and junk payload hashes with bad_request', async () => {
    for (const value of [
      'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
      'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER',
      'nonsense',
    ]) {
      const put = outgoing('/bucket/x', 'PUT', { 'x-amz-content-sha256': value }, null)
      const error = await Promise.resolve()
        .then(() => awsSigV4Injector.apply(put, entry, context))
        .catch((e: unknown) => e)
      expect(isKeyholeError(error, 'bad_request')).toBe(true)
    }
  })
})
