// Two small local servers for the demo: the real API (which checks the credential) and an
// attacker's collection point. Both record what reaches them so the demo can show who saw what.
import { createServer } from 'node:http'

function listen(server) {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${server.address().port}`))
  })
}

function readBody(req) {
  return new Promise((resolve) => {
    let body = ''
    req.setEncoding('utf8')
    req.on('data', (chunk) => {
      body += chunk
    })
    req.on('end', () => resolve(body))
  })
}

/**
 * Starts a fake API on 127.0.0.1 that answers `GET /user` when it receives `Authorization:
 * Bearer <credential>`, and has a careless `GET /echo-headers` that would reveal the credential
 * to whoever can call it.
 * @param {string} credential
 */
export async function startFakeApi(credential) {
  const requests = []
  const server = createServer(async (req, res) => {
    requests.push({ method: req.method, url: req.url, headers: req.headers, body: await readBody(req) })
    res.setHeader('content-type', 'application/json')
    if (req.headers.authorization !== `Bearer ${credential}`) {
      res.statusCode = 401
      res.end(JSON.stringify({ message: 'Bad credentials' }))
    } else if (req.url === '/user') {
      res.end(JSON.stringify({ login: 'octocat', plan: 'pro' }))
    } else if (req.url === '/echo-headers') {
      res.end(JSON.stringify(req.headers))
    } else {
      res.statusCode = 404
      res.end(JSON.stringify({ message: 'Not Found' }))
    }
  })
  const url = await listen(server)
  return { url, requests, close: () => new Promise((resolve) => server.close(resolve)) }
}

/** Starts the attacker's server: it accepts anything and keeps it. */
export async function startAttacker() {
  const received = []
  const server = createServer(async (req, res) => {
    received.push({ method: req.method, url: req.url, headers: req.headers, body: await readBody(req) })
    res.end('thanks')
  })
  const url = await listen(server)
  return { url, received, close: () => new Promise((resolve) => server.close(resolve)) }
}
