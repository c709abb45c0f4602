// A tool as an agent framework would call it: a name, a JSON-schema for its arguments, and an
// `execute` that returns a result the model can read. The tool holds keyhole tokens, never the
// GitHub credential; every call goes through the keyhole proxy via createFetch.
import { createFetch, isKeyholeError, KeyholeClientError, readKeyholeError } from '@keyhole/client'

/**
 * Creates the `list_issues` tool.
 * @param {object} options
 * @param {string} options.proxy the keyhole proxy, e.g. http://127.0.0.1:8787
 * @param {readonly string[]} options.tokens keyhole tokens; each is used for the hosts its header names
 * @param {string} [options.apiBase] default https://api.github.com
 * @param {typeof fetch} [options.fetch] the fetch createFetch sends with (default: global fetch)
 */
export function createListIssuesTool(options) {
  const apiBase = options.apiBase ?? 'https://api.github.com'
  // A fetch that rewrites https://api.github.com/... to {proxy}/https/api.github.com/... and adds
  // the matching token. A URL no token covers is refused here, before anything is sent.
  const keyholeFetch = createFetch({
    proxy: options.proxy,
    tokens: options.tokens,
    ...(options.fetch ? { fetch: options.fetch } : {}),
  })

  return {
    name: 'list_issues',
    description: 'List the open issues of a GitHub repository.',
    parameters: {
      type: 'object',
      properties: {
        owner: { type: 'string', description: 'the account that owns the repository' },
        repo: { type: 'string', description: 'the repository name' },
      },
      required: ['owner', 'repo'],
      additionalProperties: false,
    },
    /**
     * @param {{ owner: string, repo: string }} args
     * @returns {Promise<{ ok: true, issues: { number: number, title: string }[] } | { ok: false, error: string }>}
     */
    async execute({ owner, repo }) {
      const url = `${apiBase}/repos/${encodeURIComponent(owner)}/${encodeURIComponent(repo)}/issues?state=open`
      let response
      try {
        response = await keyholeFetch(url, { headers: { accept: 'application/vnd.github+json' } })
      } catch (error) {
        // Refused locally: no token covers this URL. The model gets a reason it can act on.
        if (error instanceof KeyholeClientError) return { ok: false, error: `not permitted: ${error.code}` }
        // The proxy itself is down or unreachable: a transient failure the agent may retry.
        if (error instanceof TypeError) return { ok: false, error: 'the keyhole proxy could not be reached' }
        throw error
      }
      if (isKeyholeError(response)) {
        const info = await readKeyholeError(response)
        // The proxy could not reach GitHub, or its revocation store: transient, worth a retry.
        if (response.status >= 500) return { ok: false, error: `temporarily unavailable: ${info?.code}` }
        // Refused by the proxy (policy, expiry, revocation), as opposed to an error from GitHub.
        return { ok: false, error: `not permitted: ${info?.code}` }
      }
      if (!response.ok) return { ok: false, error: `GitHub answered ${response.status}` }
      const issues = await response.json()
      return { ok: true, issues: issues.map((issue) => ({ number: issue.number, title: issue.title })) }
    },
  }
}
