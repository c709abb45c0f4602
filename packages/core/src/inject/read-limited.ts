/**
 * Reads a response body up to `limit` bytes. Returns `undefined` (and cancels the rest) when the
 * body is longer, so a side request cannot make the proxy buffer without bound.
 *
 * @example
 * ```ts
 * const bytes = await readLimited(response, 64 * 1024)
 * if (bytes === undefined) throw new Error('too large')
 * ```
 */
export async function readLimited(response: Response, limit: number): Promise<Uint8Array | undefined> {
  const declared = Number(response.headers.get('content-length') ?? '0')
  if (declared > limit) {
    await response.body?.cancel().catch(() => {})
    return undefined
  }
  if (!response.body) return new Uint8Array(0)
  const reader = response.body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    size += value.byteLength
    if (size > limit) {
      await reader.cancel().catch(() => {})
      return undefined
    }
    chunks.push(value)
  }
  const out = new Uint8Array(size)
  let at = 0
  for (const chunk of chunks) {
    out.set(chunk, at)
    at += chunk.byteLength
  }
  return out
}
