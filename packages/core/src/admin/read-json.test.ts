import { describe, expect, test } from 'vitest'
import { readJsonBody as readJson } from './read-json.js'

function post(body: BodyInit | null, headers: Record<string, string> = {}) {
  return new Request('http://admin.local/x', { method: 'POST', body, headers, duplex: 'half' } as RequestInit)
}

function streamOf(...parts: string[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder()
  return new ReadableStream({
    start(controller) {
      for (const part of parts) controller.enqueue(encoder.encode(part))
      controller.close()
    },
  })
}

describe('readJsonBody', () => {
  test('parses a JSON body', async () => {
    expect(await readJson(post('{"jti":"a","exp":1}'))).toEqual({ jti: 'a', exp: 1 })
    expect(await readJson(post(streamOf('{"a":', '[1,2]}')))).toEqual({ a: [1, 2] })
  })

  test('refuses an empty body, bad JSON and bad UTF-8 without echoing the body', async () => {
    const secretValue = 'sk-live-must-not-echo'
    for (const body of [null, '', `{"value":"${secretValue}"`, new Uint8Array([0x7b, 0xff, 0x7d])]) {
      const error = await readJson(post(body as BodyInit | null)).catch((e: unknown) => e)
      expect(error).toMatchObject({ code: 'bad_request' })
      expect(String((error as Error).message)).not.toContain(secretValue)
      expect(JSON.stringify((error as Error).cause ?? '')).not.toContain(secretValue)
    }
  })

  test('refuses bodies over the limit, by Content-Length or by counting', async () => {
    await expect(readJson(post('{"a":1}', { 'content-length': '999999' }), 100)).rejects.toMatchObject({
      code: 'bad_request',
    })
    const big = streamOf('{"a":"', 'x'.repeat(60), 'x'.repeat(60), '"}')
    await expect(readJson(post(big), 100)).rejects.toMatchObject({ code: 'bad_request' })
  })
})
