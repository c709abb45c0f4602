/**
 * What the code that built a Response from bytes in memory knows about it: the body and the
 * reason phrase. Reading them back from the `Response` itself makes a web stream (and makes a
 * server's lightweight Response, `@hono/node-server`'s, build a full one), which for a small
 * answer costs more than the proxying. The node forwarder registers the small bodies that came
 * with their headers, the scrubber reads them from here and registers its masked result, and a
 * Node adapter (`@keyhole/express`) writes that in one call.
 *
 * Only the code that built the Response registers it, with the very bytes it passed as the body,
 * so reading them here is reading the body; whoever takes them must not read the Response's body
 * too. Held weakly: nothing outlives the Response.
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
