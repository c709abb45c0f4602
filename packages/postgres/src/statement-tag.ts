/**
 * A short stable tag for prepared-statement names, so that stores and caches on different tables
 * can share one pool's prepared statements without clashing (FNV-1a, base 36).
 *
 * @example
 * ```ts
 * const name = `keyhole_claim_${statementTag('"keyhole_proofs"')}`
 * ```
 */
export function statementTag(text: string): string {
  let hash = 0x811c9dc5
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193)
  return (hash >>> 0).toString(36)
}
