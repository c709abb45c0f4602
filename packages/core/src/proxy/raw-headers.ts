/**
 * A read-only `Headers` over a Node request's `rawHeaders` (`[name, value, name, value, ...]`),
 * answering as `new Headers(pairs)` would: names compared and listed in lower case, iteration
 * sorted by name, repeated headers combined with `, ` (`Cookie` with `; `, each `Set-Cookie` kept separate), values
 * with surrounding whitespace removed, HTTP/2 pseudo-headers (`:path`) left out. Nothing is
 * copied until iterated, and `get` scans the few raw entries instead of building a map: on the
 * proxy's hot path this replaced a `Headers` built with one validated `append` per header.
 * Mutating it throws, as a request's immutable headers do.
 */
class RawHeaders {
  /** @internal The list itself, also for {@link rawHeaderList}. */
  readonly raw: readonly string[]
  #combined: [string, string][] | undefined

  constructor(raw: readonly string[]) {
    this.raw = raw
  }

  get(name: string): string | null {
    const wanted = name.toLowerCase()
    const raw = this.raw
    let value: string | null = null
    for (let i = 0; i < raw.length; i += 2) {
      const candidate = raw[i] as string
      if (candidate.length !== wanted.length || candidate.toLowerCase() !== wanted) continue
      const v = trimHeaderValue(raw[i + 1] as string)
      value = value === null ? v : joinHeaderValues(wanted, value, v)
    }
    return value
  }

  has(name: string): boolean {
    return this.get(name) !== null
  }

  getSetCookie(): string[] {
    const raw = this.raw
    const cookies: string[] = []
    for (let i = 0; i < raw.length; i += 2) {
      if ((raw[i] as string).toLowerCase() === 'set-cookie')
        cookies.push(trimHeaderValue(raw[i + 1] as string))
    }
    return cookies
  }

  #entries(): [string, string][] {
    if (this.#combined) return this.#combined
    const raw = this.raw
    const byName = new Map<string, string>()
    const cookies: string[] = []
    for (let i = 0; i < raw.length; i += 2) {
      const name = (raw[i] as string).toLowerCase()
      if (name.charCodeAt(0) === 58 /* : */) continue
      const value = trimHeaderValue(raw[i + 1] as string)
      if (name === 'set-cookie') cookies.push(value)
      else {
        const existing = byName.get(name)
        byName.set(name, existing === undefined ? value : joinHeaderValues(name, existing, value))
      }
    }
    const entries: [string, string][] = [...byName]
    for (const cookie of cookies) entries.push(['set-cookie', cookie])
    // A stable sort keeps the Set-Cookie values in the order they were received.
    entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    this.#combined = entries
    return entries
  }

  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.entries()
  }

  entries(): IterableIterator<[string, string]> {
    // The pairs themselves, not copies: the view is built per request and read once.
    return this.#entries()[Symbol.iterator]()
  }

  keys(): IterableIterator<string> {
    return this.#entries()
      .map((entry) => entry[0])
      [Symbol.iterator]()
  }

  values(): IterableIterator<string> {
    return this.#entries()
      .map((entry) => entry[1])
      [Symbol.iterator]()
  }

  forEach(callback: (value: string, name: string, parent: Headers) => void, thisArg?: unknown): void {
    for (const [name, value] of this.#entries()) {
      callback.call(thisArg, value, name, this as unknown as Headers)
    }
  }

  append(): never {
    throw new TypeError('immutable')
  }

  set(): never {
    throw new TypeError('immutable')
  }

  delete(): never {
    throw new TypeError('immutable')
  }

  get [Symbol.toStringTag](): string {
    return 'Headers'
  }
}

/**
 * Two values of one (lower-case) header name joined as `Headers` joins them: `, `, and `; ` for
 * `Cookie` (as undici does: repeated Cookie headers make one cookie string). Internal to core.
 */
export function joinHeaderValues(name: string, first: string, second: string): string {
  return `${first}${name === 'cookie' ? '; ' : ', '}${second}`
}

const HTTP_WHITESPACE = /^[\t\n\r ]+|[\t\n\r ]+$/g

/** A header value without surrounding HTTP whitespace, as `Headers` stores it. Internal to core. */
export function trimHeaderValue(value: string): string {
  const first = value.charCodeAt(0)
  const last = value.charCodeAt(value.length - 1)
  // Node's parser has already trimmed spaces and tabs; the check keeps the common case a no-op.
  if (first > 32 && last > 32) return value
  return value.replace(HTTP_WHITESPACE, '')
}

/**
 * A read-only `Headers` view over `rawHeaders` (from a Node `IncomingMessage`): what a Node
 * adapter hands the engine instead of copying every header into a `Headers`. It reads as
 * `new Headers(pairs)` would and throws on `append`, `set` and `delete`.
 *
 * @example
 * ```ts
 * const headers = headersFromRaw(req.rawHeaders)
 * headers.get('x-keyhole-token')
 * ```
 */
export function headersFromRaw(raw: readonly string[]): Headers {
  return new RawHeaders(raw) as unknown as Headers
}

/**
 * The `rawHeaders` list behind a {@link headersFromRaw} view, or `undefined` for any other
 * `Headers`: lets the engine copy headers in one pass over the list instead of the sorted,
 * combined iteration. Internal to core.
 */
export function rawHeaderList(headers: Headers): readonly string[] | undefined {
  return headers instanceof (RawHeaders as unknown as typeof Headers)
    ? (headers as unknown as RawHeaders).raw
    : undefined
}
