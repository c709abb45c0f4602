import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { compileScrubber } from './compile-scrubber.js'
import { concat, dec, enc, latin1, naiveHold, pipe, split } from './scrub.fixture.js'
import { searchSet } from './search-set.js'
import { secretForms } from './secret-forms.js'

const secretsArb = fc.array(
  fc.string({
    unit: fc.constantFrom('a', 'b', 'c', '/', ' ', 'é', '+', '<', '='),
    minLength: 1,
    maxLength: 10,
  }),
  { minLength: 1, maxLength: 3 },
)

/** A body of noise, whole forms of the secrets and cut-off forms (partial matches), as UTF-8. */
const bodyArb = (secrets: string[]) => {
  const forms = secrets.flatMap((secret) => secretForms(secret))
  const piece = fc.oneof(
    fc.string({
      unit: fc.constantFrom('a', 'b', 'c', 'Y', 'W', '%', '2', '6', '\n', '\\', 'u', '0'),
      maxLength: 6,
    }),
    fc.constantFrom(...forms),
    fc.tuple(fc.constantFrom(...forms), fc.nat()).map(([form, cut]) => form.slice(0, cut % form.length)),
  )
  return fc.array(piece, { maxLength: 25 }).map((pieces) => enc.encode(pieces.join('')))
}

const scenario = secretsArb.chain((secrets) =>
  fc.record({
    secrets: fc.constant(secrets),
    body: bodyArb(secrets),
    cuts: fc.array(fc.nat(), { maxLength: 12 }),
  }),
)

/** Reads from `reader` until `length` bytes came, failing if they do not come within `ms`. */
async function readExactly(reader: ReadableStreamDefaultReader<Uint8Array>, length: number, ms = 1000) {
  const parts: Uint8Array[] = []
  let got = 0
  while (got < length) {
    const timeout = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), ms))
    const next = await Promise.race([reader.read(), timeout])
    if (next === 'timeout') throw new Error(`only ${got} of ${length} bytes were emitted`)
    if (next.done) throw new Error('stream ended early')
    parts.push(next.value)
    got += next.value.length
  }
  expect(got).toBe(length)
  return concat(parts)
}

describe('Scrubber.stream', () => {
  it('masks a secret split across chunks', async () => {
    const scrubber = compileScrubber(['sk-test-123'])
    const stream = scrubber.stream()
    const out = await pipe([enc.encode('{"key":"sk-te'), enc.encode('st-1'), enc.encode('23"}')], stream)
    expect(dec.decode(out)).toBe('{"key":"***********"}')
    expect(stream.count()).toBe(1)
  })

  it('emits a partial match the body ended in, unmasked', async () => {
    const out = await pipe([enc.encode('tail: sk-test-12')], compileScrubber(['sk-test-123']).stream())
    expect(dec.decode(out)).toBe('tail: sk-test-12')
  })

  it('passes an SSE event on before the next one is written', async () => {
    const { readable, writable } = compileScrubber(['sk-test-123']).stream()
    const writer = writable.getWriter()
    const reader = readable.getReader()
    const event = enc.encode('data: {"delta":"hello"}\n\n')
    void writer.write(event)
    expect(dec.decode(await readExactly(reader, event.length))).toBe('data: {"delta":"hello"}\n\n')
    // An event ending in the start of the secret holds just that start back.
    void writer.write(enc.encode('data: sk-'))
    expect(dec.decode(await readExactly(reader, 6))).toBe('data: ')
    void writer.write(enc.encode('test-123\n\n'))
    expect(dec.decode(await readExactly(reader, 13))).toBe('*********\n\n'.padStart(13, '*'))
    void writer.close()
    expect((await reader.read()).done).toBe(true)
  })

  it('does not write to the chunks it is given', async () => {
    const chunk = enc.encode('key=sk-test-123;')
    const out = await pipe([chunk], compileScrubber(['sk-test-123']).stream())
    expect(dec.decode(chunk)).toBe('key=sk-test-123;')
    expect(dec.decode(out)).toBe('key=***********;')
  })

  it('is a pass-through for no secrets', async () => {
    const scrubber = compileScrubber([])
    expect(scrubber.empty).toBe(true)
    const out = await pipe([enc.encode('anything')], scrubber.stream())
    expect(dec.decode(out)).toBe('anything')
  })

  it('errors on a chunk that is not bytes', async () => {
    const { readable, writable } = compileScrubber(['sk-test-123']).stream()
    const read = readable.getReader().read()
    const write = writable.getWriter().write('text' as unknown as Uint8Array)
    await expect(write).rejects.toMatchObject({ code: 'response_not_scrubbable' })
    await expect(read).rejects.toMatchObject({ code: 'response_not_scrubbable' })
  })

  it('gives the same output and count for any chunking as scrubBytes on the whole (property)', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async ({ secrets, body, cuts }) => {
        const scrubber = compileScrubber(secrets)
        const whole = body.slice()
        const count = scrubber.scrubBytes(whole)
        const stream = scrubber.stream()
        const out = await pipe(split(body, cuts), stream)
        expect(out.length).toBe(body.length)
        expect(latin1(out)).toBe(latin1(whole))
        expect(stream.count()).toBe(count)
      }),
      { seed: 31337, numRuns: 300 },
    )
  })

  it('emits each chunk at once but for the tail that could begin a form (property)', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async ({ secrets, body, cuts }) => {
        const patterns = searchSet(secrets)
        const { readable, writable } = compileScrubber(secrets).stream()
        const writer = writable.getWriter()
        const reader = readable.getReader()
        let written = 0
        let emitted = 0
        for (const chunk of split(body, cuts)) {
          void writer.write(chunk)
          written += chunk.length
          // Everything written so far, except the longest tail that is a proper prefix of some
          // pattern, must come out before anything more is written.
          const due = written - naiveHold(body.subarray(0, written), patterns)
          await readExactly(reader, due - emitted)
          emitted = due
        }
        void writer.close()
        await readExactly(reader, written - emitted)
        expect((await reader.read()).done).toBe(true)
      }),
      { seed: 2718, numRuns: 150 },
    )
  })
})
