/**
 * The raw path and query of `url` (an absolute URL or an origin-form request target such as
 * `/proxy/x?y`) below the mount point of `routePattern` (`/proxy/*`,
 * `/t/:tenant/proxy/*`, `*`): as many leading path segments are skipped as the pattern has
 * before its `*`. The rest is returned exactly as it appears in the URL (percent-encoding
 * untouched), always starting with `/`.
 *
 * A segment-count is used rather than the decoded `c.req.path`, because decoding would lose
 * the difference between `/` and `%2F` that the engine's policy depends on.
 */
export function pathBelowMount(url: string, routePattern: string): string {
  let start = 0
  if (url.charCodeAt(0) !== 47 /* / */) {
    // An absolute URL: the path starts where the authority ends.
    const schemeEnd = url.indexOf('://')
    start = schemeEnd === -1 ? 0 : schemeEnd + 3
    while (start < url.length && url[start] !== '/' && url[start] !== '?') start++
    if (start === url.length || url[start] === '?') return `/${url.slice(start)}`
  }
  const queryAt = url.indexOf('?', start)
  const pathEnd = queryAt === -1 ? url.length : queryAt
  let skip = mountSegments(routePattern)
  while (skip > 0) {
    const next = url.indexOf('/', start + 1)
    if (next === -1 || next > pathEnd) {
      start = pathEnd
      break
    }
    start = next
    skip--
  }
  if (start === pathEnd) return `/${url.slice(pathEnd)}`
  return url.slice(start)
}

const cache = new Map<string, number>()

/** Segments of a route pattern before its first wildcard (`/proxy/*` → 1, `*` → 0). */
export function mountSegments(routePattern: string): number {
  let count = cache.get(routePattern)
  if (count !== undefined) return count
  count = 0
  for (const segment of routePattern.split('/')) {
    if (segment === '') continue
    if (segment.includes('*')) break
    count++
  }
  if (cache.size < 1000) cache.set(routePattern, count)
  return count
}
