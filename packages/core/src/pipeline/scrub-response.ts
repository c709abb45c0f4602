import { KeyholeError } from '../errors.js'
import { type KnownBody, rememberBody, takeKnownBody } from '../proxy/known-body.js'
import { compileScrubber, type Scrubber } from '../scrub/compile-scrubber.js'
import { decodeForScrubbing } from '../scrub/decode-for-scrubbing.js'
import type { Admission } from './admission.js'
import type { Forwarding } from './forwarding.js'
import type { RequestState } from './request-state.js'

// Grants whose injectors produced per-request secrets (an OAuth access token is stable for a
// while; a signature is new each time) get a scrubber for the whole list; compileScrubber caches
// it by content, so a stable produced secret costs one automaton.
function scrubberFor(state: RequestState): Scrubber {
  const secrets = state.plan?.secrets ?? []
  if (state.producedSecrets.length === 0) return compileScrubber(secrets)
  return compileScrubber([...secrets, ...state.producedSecrets])
}

/**
 * The body through the scrubber, pulled chunk by chunk; `done` runs however the body ends. A read
 * that fails once the body is flowing calls `abort` (the adapter's way to cut the connection) and
 * ends the stream quietly, or errors the stream without one. With
 * `check`, the first scrubbed chunk is read before the body is handed back, so a body that is not
 * valid for its content encoding from its first bytes (a corrupt gzip header) is refused while the
 * answer can still be a 502 `response_not_scrubbable`, not a 200 cut short.
 */
function scrubbedBody(
  source: ReadableStream<Uint8Array>,
  scrubber: Scrubber,
  done: (count: number) => void,
  check: boolean,
  abort: (() => void) | undefined,
): ReadableStream<Uint8Array> | Promise<ReadableStream<Uint8Array>> {
  const scrub = scrubber.stream()
  const reader = source.pipeThrough(scrub).getReader()
  let finished = false
  const finish = () => {
    if (finished) return
    finished = true
    done(scrub.count())
  }
  const read = async (): Promise<ReadableStreamReadResult<Uint8Array>> => {
    try {
      return await reader.read()
    } catch (error) {
      finish()
      throw error
    }
  }
  let first: ReadableStreamReadResult<Uint8Array> | undefined
  const stream = () =>
    new ReadableStream<Uint8Array>(
      {
        async pull(controller) {
          let result: ReadableStreamReadResult<Uint8Array>
          try {
            result = first ?? (await read())
          } catch (error) {
            if (abort === undefined) throw error
            // The head is gone: the adapter cuts the connection, so the quiet close below never
            // reads as a complete body.
            abort()
            controller.close()
            return
          }
          first = undefined
          if (result.done) {
            controller.close()
            finish()
          } else {
            controller.enqueue(result.value)
          }
        },
        cancel(reason) {
          // A client that went away: the count so far is all there will be.
          finish()
          return reader.cancel(reason)
        },
      },
      // No read-ahead: a chunk is scrubbed when the client asks for it, so SSE events flush at once.
      { highWaterMark: 0 },
    )
  if (!check) return stream()
  return read().then(
    (result) => {
      first = result
      return stream()
    },
    (error: unknown) => {
      throw new KeyholeError(
        'response_not_scrubbable',
        'the upstream body is not valid for its content encoding, so the proxy cannot scrub it',
        { cause: error },
      )
    },
  )
}

/**
 * The upstream's reason phrase (`HTTP/1.1 200 OK`), masked like a header: it is sent back as
 * the status line's text, and an upstream may put anything there.
 */
function scrubReason(scrubber: Scrubber, statusText: string): { text: string; count: number } {
  if (statusText === '') return { text: statusText, count: 0 }
  return scrubber.scrubText(statusText)
}

/** Bodies up to this size with a declared length are read whole and masked in one pass. */
export const SMALL_BODY_BYTES = 64 * 1024

/**
 * The fast path for the common small answer: a body with a declared `Content-Length` of at most
 * {@link SMALL_BODY_BYTES} and no content encoding is read whole, masked in place and sent as
 * bytes — one copy of the headers, no extra streams (a streamed body through the scrubber costs
 * two web streams per response). A body the forwarder registered as already in memory
 * (`rememberBody`) is masked without reading the Response at all, and answered at once.
 * Returns undefined when the response is not such an answer;
 * {@link scrubResponse} then streams it.
 *
 * @example
 * ```ts
 * const small = scrubSmallBody(state, admission, upstream, onDone)
 * state.response = small !== undefined ? await small : scrubResponse(state, admission, forwarding, upstream, onDone)
 * ```
 */
export function scrubSmallBody(
  state: RequestState,
  admission: Admission,
  upstream: Response,
  onDone: (count: number) => void,
): Response | Promise<Response> | undefined {
  if (admission.scrub !== true) return undefined
  // Status, headers and a forwarder's known body are read without touching `upstream.body` or
  // `statusText`, which would turn a server's lightweight Response into a full one.
  const declared = upstream.headers.get('content-length')
  if (declared === null) return undefined
  const length = Number(declared)
  if (!(length > 0 && length <= SMALL_BODY_BYTES)) return undefined
  const coding = upstream.headers.get('content-encoding')
  if (coding !== null && coding.trim().toLowerCase() !== 'identity') return undefined
  const scrubber = scrubberFor(state)
  if (scrubber.empty) return undefined
  const known = takeKnownBody(upstream)
  if (known === undefined && upstream.body === null) return undefined
  const headers = new Headers(upstream.headers)
  const count = scrubber.scrubHeaders(headers)
  const answer = (body: KnownBody): Response => {
    // The bytes are this request's own copy (the forwarder's, or a fresh arrayBuffer): masked
    // in place.
    const reason = scrubReason(scrubber, body.statusText)
    onDone(count + reason.count + scrubber.scrubBytes(body.bytes))
    const response = new Response(body.bytes, {
      status: upstream.status,
      statusText: reason.text,
      headers,
    })
    // So that a Node adapter can write the masked bytes as they are, without a web stream.
    rememberBody(response, { bytes: body.bytes, statusText: reason.text })
    return response
  }
  if (known !== undefined) return answer(known)
  return upstream.arrayBuffer().then(
    (buffer) => answer({ bytes: new Uint8Array(buffer), statusText: upstream.statusText }),
    (error: unknown) => {
      // The upstream failed mid-body: the event still goes out, with what was masked so far.
      onDone(count)
      throw error
    },
  )
}

/**
 * The answer stage's scrubbing: every secret the grant injected, and every secret an injector
 * produced for this request, is masked (`*` bytes, as many as it had) in the response headers —
 * of every response, 3xx included — and, with `scrub: true`, in the body as it streams, after
 * decoding `gzip`/`deflate` (and `br` where a decoder is available) so the text can be searched;
 * an encoding that cannot be decoded is 502 `response_not_scrubbable`. `onDone` receives the
 * number of masked occurrences once the body has been read through, failed or been cancelled (at
 * once when the body is not scrubbed). Defence in depth: an upstream that transforms a secret in
 * other ways is not caught.
 *
 * @example
 * ```ts
 * state.response = scrubResponse(state, admission, forwarding, upstream, (n) => (state.scrubbed = n))
 * ```
 */
export function scrubResponse(
  state: RequestState,
  admission: Admission,
  forwarding: Forwarding,
  upstream: Response,
  onDone: (count: number) => void = () => {},
): Response {
  return scrub(state, admission, forwarding, upstream, onDone, false) as Response
}

/**
 * {@link scrubResponse} for the engine's own answer: a body it decodes (gzip, deflate, br) is read
 * up to its first scrubbed chunk before the answer is handed back, so a body that is not valid for
 * its coding is 502 `response_not_scrubbable` (a body that breaks later still ends the stream in
 * error: its head is gone by then).
 *
 * @example
 * ```ts
 * state.response = await scrubCheckedResponse(state, admission, forwarding, upstream, onDone)
 * ```
 */
export function scrubCheckedResponse(
  state: RequestState,
  admission: Admission,
  forwarding: Forwarding,
  upstream: Response,
  onDone: (count: number) => void,
): Response | Promise<Response> {
  return scrub(state, admission, forwarding, upstream, onDone, true)
}

function scrub(
  state: RequestState,
  admission: Admission,
  forwarding: Forwarding,
  upstream: Response,
  onDone: (count: number) => void,
  check: boolean,
): Response | Promise<Response> {
  const scrubber = admission.scrub === false ? undefined : scrubberFor(state)
  if (scrubber === undefined || scrubber.empty) {
    onDone(0)
    return upstream
  }
  // One copy of the headers, masked (a masked Set-Cookie is still sent), for whatever Response
  // goes on. Never masked in place: @hono/node-server's lightweight Response rebuilds itself from
  // its constructor arguments when its body is read, which would bring the unmasked ones back.
  const headers = new Headers(upstream.headers)
  const reason = scrubReason(scrubber, upstream.statusText)
  const count = scrubber.scrubHeaders(headers) + reason.count
  const init = { status: upstream.status, statusText: reason.text, headers }
  if (admission.scrub === 'headers' || upstream.body === null) {
    onDone(count)
    return count === 0 ? upstream : new Response(upstream.body, init)
  }
  const decoded = decodeForScrubbing(upstream, forwarding.contentDecoders)
  if (decoded === 'unscrubbable') {
    upstream.body?.cancel().catch(() => {})
    onDone(count)
    throw new KeyholeError(
      'response_not_scrubbable',
      'the upstream answered in a content encoding the proxy cannot read to scrub it',
    )
  }
  if (decoded !== upstream) {
    // The body goes on decoded: its encoding and declared length no longer describe it.
    headers.delete('content-encoding')
    headers.delete('content-length')
  }
  const body = scrubbedBody(
    decoded.body as ReadableStream<Uint8Array>,
    scrubber,
    (n) => onDone(count + n),
    check && decoded !== upstream,
    state.context?.abort,
  )
  return body instanceof ReadableStream
    ? new Response(body, init)
    : body.then((ready) => new Response(ready, init))
}
