/**
 * Why the client refused a call before sending anything:
 * - `no_token_for_host`: no token's host patterns match the URL (and `passthrough` is off);
 * - `invalid_token`: a token whose public header cannot be read (not a compact JWE with `hosts`);
 * - `invalid_options`: a missing or malformed `proxy`, `tokens` or environment variable;
 * - `bad_url`: a URL that is not absolute `http(s)`, or that carries userinfo.
 */
export type KeyholeClientErrorCode = 'no_token_for_host' | 'invalid_token' | 'invalid_options' | 'bad_url'

/**
 * The error the client throws (or rejects with) when it refuses a call locally. Messages never
 * contain a token.
 *
 * @example
 * ```ts
 * try {
 *   await keyholeFetch('https://unknown.example.com/')
 * } catch (err) {
 *   if (err instanceof KeyholeClientError && err.code === 'no_token_for_host') console.error(err.message)
 * }
 * ```
 */
export class KeyholeClientError extends Error {
  override name = 'KeyholeClientError'
  readonly code: KeyholeClientErrorCode

  constructor(code: KeyholeClientErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
  }
}
