import type { InjectContext, OutgoingRequest } from './injector.js'

/** An outgoing request for injector tests. */
export function outgoing(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string | Uint8Array | null } = {},
): OutgoingRequest {
  const body = init.body ?? null
  return {
    method: init.method ?? 'GET',
    url: new URL(url),
    headers: new Headers(init.headers),
    body: typeof body === 'string' ? new TextEncoder().encode(body) : body,
  }
}

/** A context whose side requests go straight to the network (tests dial 127.0.0.1 only). */
export function context(overrides: Partial<InjectContext> = {}): InjectContext {
  return { fetch: globalThis.fetch, checkUrl: () => {}, now: Date.now, ...overrides }
}

export const text = (request: OutgoingRequest): string =>
  new TextDecoder().decode(request.body ?? new Uint8Array())
