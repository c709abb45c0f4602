// The shared scenario suite: every scenario runs against both adapters, on real servers on
// 127.0.0.1. The last test checks everything the suite's proxies logged, emitted or answered
// themselves for tokens and credential values.
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { adapters, honoWithFetch } from './harness/adapters.js'
import { createSuite } from './harness/fixtures.js'
import { captureConsole, findLeaks, leaks } from './harness/leaks.js'
import { fetchForwarderScenarios } from './scenarios/fetch-forwarder.js'
import { injectionScenarios } from './scenarios/injection.js'
import { modeScenarios } from './scenarios/modes.js'
import { policyScenarios } from './scenarios/policy.js'
import { measurements, streamingScenarios } from './scenarios/streaming.js'
import { upstreamScenarios } from './scenarios/upstream.js'

const restoreConsole = captureConsole()

describe.each(adapters)('$name adapter', (adapter) => {
  const { suite, setup, teardown } = createSuite(adapter)
  beforeAll(setup)
  afterAll(teardown)

  describe('injection and stripping', () => injectionScenarios(suite))
  describe('policy', () => policyScenarios(suite))
  describe('streaming', () => streamingScenarios(suite))
  describe('upstream errors', () => upstreamScenarios(suite))
  describe('modes and routes', () => modeScenarios(suite))
})

describe('hono adapter with the default fetch forwarder', () => {
  const { suite, setup, teardown } = createSuite(honoWithFetch)
  beforeAll(setup)
  afterAll(teardown)
  fetchForwarderScenarios(suite)
})

describe('across the whole suite', () => {
  afterAll(() => {
    restoreConsole()
    for (const line of measurements) process.stdout.write(`${line}\n`)
  })

  test('no token or credential value appears in any log line, event or proxy-made response', () => {
    // The suite must actually have produced material to search, or this test proves nothing.
    expect(leaks.secrets.size).toBeGreaterThan(100)
    expect(leaks.events.length).toBeGreaterThan(100)
    expect(leaks.bodies.length).toBeGreaterThan(50)
    expect(leaks.events.some((e) => e.outcome === 'ok')).toBe(true)
    expect(leaks.events.some((e) => e.outcome === 'host_not_allowed')).toBe(true)
    expect(findLeaks()).toEqual([])
  })
})
