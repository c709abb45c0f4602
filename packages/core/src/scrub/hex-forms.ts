/**
 * Hex of `bytes` (a secret's UTF-8), lower and upper case: debug dumps, hashes-of-nothing
 * printed by mistake, and `xxd`-style echoes all use one case or the other.
 *
 * @example
 * ```ts
 * hexForms(utf8('k/1')) // ['6b2f31', '6B2F31']
 * ```
 */
export function hexForms(bytes: Uint8Array): string[] {
  let lower = ''
  for (const byte of bytes) lower += (byte < 16 ? '0' : '') + byte.toString(16)
  return [lower, lower.toUpperCase()]
}
