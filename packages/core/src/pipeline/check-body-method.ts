import { KeyholeError } from '../errors.js'
import { mayCarryFormFields, methodOverrideInBody } from '../policy/method-override.js'
import type { Grant } from '../types.js'
import { bufferBody } from './buffer-body.js'
import type { RequestState } from './request-state.js'

/** Whether the grant, or any of its attenuation layers, restricts methods. */
export function restrictsMethods(grant: Grant): boolean {
  if (grant.methods !== undefined) return true
  return grant.layers?.some((layer) => layer.methods !== undefined) === true
}

function allows(grant: Grant, method: string): boolean {
  if (grant.methods !== undefined && !grant.methods.includes(method)) return false
  for (const layer of grant.layers ?? [])
    if (layer.methods !== undefined && !layer.methods.includes(method)) return false
  return true
}

/**
 * When the grant restricts methods, a `_method` field of a form-encoded or multipart body counts
 * as the method it names (frameworks such as Rails and Laravel route on it), so the body is read
 * (up to `limit`, else `body_too_large`) and every `_method` it holds must be allowed too
 * (`method_not_allowed`). The query's `_method` is checked by `authorize` itself.
 *
 * @example
 * ```ts
 * if (restrictsMethods(grant)) await checkBodyMethod(state, admission.maxBufferedBody)
 * ```
 */
export async function checkBodyMethod(state: RequestState, limit: number): Promise<void> {
  const method = state.method
  if (method === 'GET' || method === 'HEAD') return
  const contentType = state.request.headers.get('content-type')
  // Any value that mentions a form type: PHP, for one, reads `application/x-www-form-urlencoded,
  // text/plain` as a form.
  if (!mayCarryFormFields(contentType)) return
  const grant = state.grant as Grant
  const body = await bufferBody(state, limit)
  for (const named of methodOverrideInBody(contentType, body)) {
    if (!allows(grant, named)) {
      throw new KeyholeError('method_not_allowed', 'the request method is not allowed by this token')
    }
  }
}
