/**
 * Parses a JSON pointer (RFC 6901) into its reference tokens, unescaping `~1` to `/` and `~0` to
 * `~`. Returns `undefined` for anything that is not a pointer to a member: the empty pointer
 * (the whole document), a pointer not starting with `/`, or a `~` not followed by `0` or `1`.
 *
 * @example
 * ```ts
 * parseJsonPointer('/auth/api_key') // ['auth', 'api_key']
 * parseJsonPointer('/a~1b/~0') // ['a/b', '~']
 * parseJsonPointer('auth') // undefined
 * ```
 */
export function parseJsonPointer(pointer: string): string[] | undefined {
  if (!pointer.startsWith('/')) return undefined
  const tokens = pointer.slice(1).split('/')
  for (const token of tokens) if (/~(?![01])/.test(token)) return undefined
  // ~1 first, then ~0: '~01' is '~1', not '/'.
  return tokens.map((token) => token.replaceAll('~1', '/').replaceAll('~0', '~'))
}
