import type { IncomingMessage } from 'node:http'
import { rememberBody } from '../proxy/known-body.js'
import { connectionTokens, isHopByHopResponseHeader, isNullBodyStatus } from '../proxy/sanitize-headers.js'

interface BodyState {
  readonly incoming: IncomingMessage
  /** The web stream started reading the message. */
  started: boolean
  /** An adapter took the message through {@link nodeBody}; the web stream must not read it. */
  taken: boolean
}

const bodies = new WeakMap<Response, BodyState>()

/**
 * A web stream over an upstream response body that only starts reading when it is first read
 * (so an adapter can still take the Node stream itself), honours backpressure by pausing the
 * message, and destroys it when cancelled.
 */
function webBody(state: BodyState): ReadableStream<Uint8Array> {
  const incoming = state.incoming
  let finished = false
  return new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (state.taken) {
          finished = true
          controller.error(new Error('the body was taken as a Node stream'))
          return
        }
        if (!state.started) {
          state.started = true
          incoming.on('data', (chunk: Buffer) => {
            if (finished) return
            controller.enqueue(chunk)
            if ((controller.desiredSize ?? 0) <= 0) incoming.pause()
          })
          incoming.on('end', () => {
            if (finished) return
            finished = true
            controller.close()
          })
          incoming.on('error', (error) => {
            if (finished) return
            finished = true
            controller.error(error)
          })
          incoming.on('close', () => {
            if (finished) return
            finished = true
            controller.error(new Error('the upstream closed the connection before the body was complete'))
          })
        }
        incoming.resume()
      },
      cancel() {
        finished = true
        incoming.destroy()
      },
    },
    { highWaterMark: 0 },
  )
}

/**
 * Builds the web Response for an upstream `IncomingMessage` in one pass over its raw headers:
 * hop-by-hop headers and those named in `Connection` are dropped, repeated headers are combined
 * (except `Set-Cookie`, which stays separate), and the body streams the message, or, when the
 * message is already complete, is the bytes already received.
 */
export function toWebResponse(incoming: IncomingMessage, method: string): Response {
  const raw = incoming.rawHeaders
  let connection: string[] | undefined
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string
    if (name.length === 10 && name.toLowerCase() === 'connection') {
      connection = (connection ?? []).concat(connectionTokens(raw[i + 1] as string) ?? [])
    }
  }
  const record: Record<string, string> = Object.create(null)
  let cookies: string[] | undefined
  for (let i = 0; i < raw.length; i += 2) {
    const name = (raw[i] as string).toLowerCase()
    if (isHopByHopResponseHeader(name, connection)) continue
    const value = raw[i + 1] as string
    if (name === 'set-cookie') {
      if (cookies) cookies.push(value)
      else cookies = [value]
    } else if (name in record) record[name] = `${record[name]}, ${value}`
    else record[name] = value
  }
  let headers: Record<string, string> | Headers = record
  if (cookies) {
    if (cookies.length === 1) record['set-cookie'] = cookies[0] as string
    else {
      // Several Set-Cookie headers cannot share one record entry without being merged.
      headers = new Headers(record)
      for (const cookie of cookies) headers.append('set-cookie', cookie)
    }
  }

  const status = incoming.statusCode as number
  const hasBody = method !== 'HEAD' && !isNullBodyStatus(status)
  let state: BodyState | undefined
  let body: BodyInit | null = null
  if (hasBody && incoming.complete) {
    // The whole body already arrived with the headers (typical for small API responses): hand
    // it on as bytes, which lets the server write headers and body at once, instead of setting
    // up a stream for data that is already here. Nothing is waited for.
    const chunks: Buffer[] = []
    for (
      let chunk = incoming.read() as Buffer | null;
      chunk !== null;
      chunk = incoming.read() as Buffer | null
    ) {
      chunks.push(chunk)
    }
    incoming.resume()
    // A Buffer is a Uint8Array over an ArrayBuffer (never a SharedArrayBuffer) here.
    body = (chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)) as Uint8Array<ArrayBuffer>
  } else if (hasBody) {
    state = { incoming, started: false, taken: false }
    body = webBody(state)
  } else {
    incoming.resume()
  }
  let response: Response
  let statusText = incoming.statusMessage ?? ''
  try {
    response = new Response(body, { status, statusText, headers })
  } catch {
    // A reason phrase a Response will not take (non-Latin-1): drop it, keep everything else.
    statusText = ''
    response = new Response(body, { status, headers })
  }
  if (state) bodies.set(response, state)
  else if (body !== null) rememberBody(response, { bytes: body as Uint8Array<ArrayBuffer>, statusText })
  return response
}

/**
 * The upstream `IncomingMessage` behind a response from the node forwarder, for Node adapters
 * that can pipe it straight into their own response instead of going through web streams.
 * Returns `undefined` when the response did not come from the node forwarder, has no body, had
 * its whole body in memory already (then `response.body` is cheap), or its web body has already
 * been read; once taken, the web body must not be read.
 *
 * @example
 * ```ts
 * const upstream = nodeBody(response)
 * if (upstream) pipeline(upstream, res, () => {})
 * else pipeline(Readable.fromWeb(response.body), res, () => {})
 * ```
 */
export function nodeBody(response: Response): IncomingMessage | undefined {
  const state = bodies.get(response)
  if (!state || state.started || state.taken) return undefined
  state.taken = true
  return state.incoming
}
