import { describe, expect, it } from 'vitest'
import { emitEvent, type ProxyEvent } from './events.js'

const event: ProxyEvent = {
  outcome: 'ok',
  status: 200,
  method: 'GET',
  timings: { token: 0, open: 0, revocation: 0, policy: 0, proof: 0, upstream: 0, total: 0, body: 0 },
}

describe('emitEvent', () => {
  it('hands the event to the listener', () => {
    const seen: ProxyEvent[] = []
    emitEvent((e) => void seen.push(e), event)
    expect(seen).toEqual([event])
  })

  it('swallows a throwing listener and a rejecting one', async () => {
    expect(() =>
      emitEvent(() => {
        throw new Error('boom')
      }, event),
    ).not.toThrow()
    const unhandled: unknown[] = []
    const onUnhandled = (reason: unknown) => unhandled.push(reason)
    process.on('unhandledRejection', onUnhandled)
    emitEvent(() => Promise.reject(new Error('async boom')), event)
    await new Promise((resolve) => setTimeout(resolve, 10))
    process.off('unhandledRejection', onUnhandled)
    expect(unhandled).toEqual([])
  })

  it('does nothing without a listener', () => {
    expect(() => emitEvent(undefined, event)).not.toThrow()
  })
})
