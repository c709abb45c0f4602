/**
 * What a forwarder already knows about a response it built from bytes in memory: the body and
 * the reason phrase. Reading them back from the `Response` itself would make a server's
 * lightweight Response (`@hono/node-server`'s) build a full one with a web stream, which for a
 * small answer costs more than the proxying; the scrubber reads them from here instead.
 *
 * Only a forwarder that built the Response registers it, and registers the very bytes it passed
 * as the body, so reading them here is reading the body. Held weakly: nothing outlives the
 * Response.
 */
export interface KnownBody {
  readonly bytes: Uint8Array<ArrayBuffer>
  readonly statusText: string
}

const known = new WeakMap<Response, KnownBody>()

/**
 * Records that `response`'s body is exactly `bytes` (already complete, not yet read).
 *
 * @example
 * ```ts
 * const response = new Response(bytes, { status, statusText, headers })
 * rememberBody(response, { bytes, statusText })
 * ```
 */
export function rememberBody(response: Response, body: KnownBody): void {
  known.set(response, body)
}

/**
 * The body `response` was built with, once: the caller takes it over and the Response must not
 * be read after that. Undefined for a Response nobody registered, or one already taken.
 *
 * @example
 * ```ts
 * const body = takeKnownBody(upstream)
 * if (body) mask(body.bytes)
 * ```
 */
export function takeKnownBody(response: Response): KnownBody | undefined {
  const body = known.get(response)
  if (body !== undefined) known.delete(response)
  return body
}
