import { createServer, request, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { describe, expect, test } from 'vitest'
import { closeSignal, toAbortSignal } from './close-signal.js'

/** A real server whose handler gets each response; `hangUp` makes the client go away mid-request. */
async function withServer(
  onResponse: (res: ServerResponse) => void,
  run: (port: number) => Promise<void>,
): Promise<void> {
  const server = createServer((_req, res) => onResponse(res))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  try {
    await run((server.address() as AddressInfo).port)
  } finally {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  }
}

function hangUpAfterHeadersSent(port: number): Promise<void> {
  return new Promise((resolve) => {
    const req = request({ port, host: '127.0.0.1', agent: false })
    req.on('error', () => resolve())
    req.end()
    setTimeout(() => {
      req.destroy()
      resolve()
    }, 50)
  })
}

describe('closeSignal', () => {
  test('aborts once, with an AbortError, when the client goes away before the response finished', async () => {
    const seen: string[] = []
    let signal: AbortSignal | undefined
    const aborted = new Promise<void>((resolve) => {
      withServer((res) => {
        signal = closeSignal(res)
        const removed = () => seen.push('removed')
        signal.addEventListener('abort', removed)
        signal.addEventListener('abort', () => seen.push('first'))
        signal.addEventListener('abort', {
          handleEvent: (event: Event) => {
            seen.push(`object:${event.type}`)
            resolve()
          },
        })
        signal.removeEventListener('abort', removed)
      }, hangUpAfterHeadersSent)
    })
    await aborted
    expect(signal?.aborted).toBe(true)
    expect((signal?.reason as Error | undefined)?.name).toBe('AbortError')
    expect(() => signal?.throwIfAborted()).toThrow()
    expect(seen).toEqual(['first', 'object:abort'])
    // A listener added after the abort is never called (the signal fires once).
    signal?.addEventListener('abort', () => seen.push('late'))
    expect(seen).toEqual(['first', 'object:abort'])
  })

  test('a listener that throws does not stop the others', async () => {
    const seen: string[] = []
    const errors: unknown[] = []
    const onError = (error: unknown) => errors.push(error)
    process.on('uncaughtException', onError)
    try {
      await new Promise<void>((resolve) => {
        withServer((res) => {
          const signal = closeSignal(res)
          signal.addEventListener('abort', () => {
            throw new Error('listener failed')
          })
          signal.addEventListener('abort', () => {
            seen.push('second')
            setTimeout(resolve, 10)
          })
        }, hangUpAfterHeadersSent)
      })
    } finally {
      process.off('uncaughtException', onError)
    }
    expect(seen).toEqual(['second'])
    expect(errors).toHaveLength(1)
  })

  test('does not abort when the response finished normally', async () => {
    let signal: AbortSignal | undefined
    let closed: Promise<void> | undefined
    await withServer(
      (res) => {
        signal = closeSignal(res)
        closed = new Promise((resolve) => res.once('close', () => resolve()))
        res.end('done')
      },
      (port) =>
        new Promise((resolve, reject) => {
          request({ port, host: '127.0.0.1', agent: false }, (res) => {
            res.resume()
            res.on('end', resolve)
          })
            .on('error', reject)
            .end()
        }),
    )
    await closed
    expect(signal?.aborted).toBe(false)
  })
})

describe('toAbortSignal', () => {
  test('returns a real AbortSignal unchanged', () => {
    const signal = new AbortController().signal
    expect(toAbortSignal(signal)).toBe(signal)
  })

  test('follows a closeSignal into a real AbortSignal that fetch and Request accept', async () => {
    let real: AbortSignal | undefined
    await withServer((res) => {
      real = toAbortSignal(closeSignal(res))
      expect(real).toBeInstanceOf(AbortSignal)
      expect(() => new Request('http://127.0.0.1/', { signal: real as AbortSignal })).not.toThrow()
    }, hangUpAfterHeadersSent)
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(real?.aborted).toBe(true)
    expect((real?.reason as Error | undefined)?.name).toBe('AbortError')
  })
})
