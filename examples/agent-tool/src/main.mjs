// Runs the tool once, as an agent would: `npm run build` at the repository root, then
//   KEYHOLE_PROXY=http://127.0.0.1:8787 KEYHOLE_TOKENS="$TOKEN" \
//     node examples/agent-tool/src/main.mjs octocat hello-world
// The process needs no GitHub credential: only the proxy URL and a token minted for api.github.com.
import { createListIssuesTool } from './list-issues-tool.mjs'

const [owner = 'octocat', repo = 'hello-world'] = process.argv.slice(2)
const proxy = process.env.KEYHOLE_PROXY
const tokens = (process.env.KEYHOLE_TOKENS ?? '').split(/[\s,]+/).filter(Boolean)
if (!proxy || tokens.length === 0) {
  console.error('set KEYHOLE_PROXY (the proxy URL) and KEYHOLE_TOKENS (tokens from `keyhole mint`)')
  process.exit(2)
}
const tool = createListIssuesTool({ proxy, tokens, apiBase: process.env.API_BASE })
console.log(JSON.stringify(await tool.execute({ owner, repo }), null, 2))
