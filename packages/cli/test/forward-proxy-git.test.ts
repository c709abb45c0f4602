// `git ls-remote` through `keyhole run` and the built `keyhole serve --ca`, against a local
// smart-HTTP git server: `git http-backend` run as CGI behind the test kit's recording HTTPS
// upstream (its loopback certificate). The upstream records every request, so the test sees the
// credential keyhole injected. Skipped, saying so, where `git` is not installed.
import { spawn, spawnSync } from 'node:child_process'
import { mkdir, writeFile } from 'node:fs/promises'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  localhostTls,
  localhostTlsFiles,
  type Recorded,
  startUpstream,
  type Upstream,
} from '../../core/test/kit/index.js'
import { buildCli, forwardProxyFiles, keyhole, type Served, serve, tempDir } from './cli.js'

const CREDENTIAL = 'git-forward-credential-0042'
const hasGit = spawnSync('git', ['--version']).status === 0
if (!hasGit) console.warn('forward-proxy-git.test.ts: skipped, `git` is not installed')

// Git sees nothing of the test machine's own configuration.
const GIT_ENV = { GIT_CONFIG_NOSYSTEM: '1', GIT_TERMINAL_PROMPT: '0' }

let dir: string
let remove: () => Promise<void>
let upstream: Upstream
let port: number
let served: Served
let token: string
let head: string
const seen: Recorded[] = []

function git(args: string[], cwd: string): string {
  const result = spawnSync('git', args, {
    cwd,
    env: { ...process.env, ...GIT_ENV, HOME: cwd },
    encoding: 'utf8',
  })
  if (result.status !== 0) throw new Error(`git ${args.join(' ')}: ${result.stderr}`)
  return result.stdout.trim()
}

/**
 * Runs `git http-backend` as CGI (RFC 3875) for one request: the request's path, query and
 * headers as CGI variables, its body on stdin, and the script's `Status:` and headers turned
 * back into an HTTP response.
 */
function httpBackend(root: string) {
  return (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'https://git.test')
    const child = spawn('git', ['http-backend'], {
      env: {
        PATH: process.env.PATH ?? '',
        ...GIT_ENV,
        GIT_PROJECT_ROOT: root,
        GIT_HTTP_EXPORT_ALL: '1',
        REQUEST_METHOD: req.method ?? 'GET',
        PATH_INFO: decodeURIComponent(url.pathname),
        QUERY_STRING: url.search.slice(1),
        CONTENT_TYPE: req.headers['content-type'] ?? '',
        REMOTE_ADDR: '127.0.0.1',
        ...(req.headers['git-protocol'] && { GIT_PROTOCOL: String(req.headers['git-protocol']) }),
        ...(req.headers['content-encoding'] && {
          HTTP_CONTENT_ENCODING: String(req.headers['content-encoding']),
        }),
      },
      stdio: ['pipe', 'pipe', 'ignore'],
    })
    req.pipe(child.stdin)
    let buffered = Buffer.alloc(0)
    let headersDone = false
    child.stdout.on('data', (chunk: Buffer) => {
      if (headersDone) {
        res.write(chunk)
        return
      }
      buffered = Buffer.concat([buffered, chunk])
      const end = buffered.indexOf('\r\n\r\n')
      if (end === -1) return
      headersDone = true
      let status = 200
      for (const line of buffered.subarray(0, end).toString('latin1').split('\r\n')) {
        const colon = line.indexOf(':')
        const name = line.slice(0, colon).trim()
        const value = line.slice(colon + 1).trim()
        if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10)
        else res.setHeader(name, value)
      }
      res.statusCode = status
      res.write(buffered.subarray(end + 4))
    })
    child.on('close', () => {
      if (!headersDone) res.statusCode = 502
      res.end()
    })
  }
}

beforeAll(async () => {
  if (!hasGit) return
  buildCli()
  ;({ dir, remove } = await tempDir())
  // A bare repository with one commit on main and a tag, served from <dir>/srv/repo.git.
  const work = join(dir, 'work')
  await mkdir(work)
  git(['init', '-q', '-b', 'main'], work)
  await writeFile(join(work, 'README'), 'keyhole\n')
  git(['add', 'README'], work)
  git(['-c', 'user.name=t', '-c', 'user.email=t@example.test', 'commit', '-q', '-m', 'init'], work)
  git(['tag', 'v1'], work)
  head = git(['rev-parse', 'HEAD'], work)
  await mkdir(join(dir, 'srv'))
  git(['clone', '-q', '--bare', work, join(dir, 'srv', 'repo.git')], dir)

  upstream = await startUpstream({
    tls: localhostTls,
    routes: { '/': httpBackend(join(dir, 'srv')) },
    received: seen,
  })
  port = upstream.port

  token = await forwardProxyFiles(dir, {
    hosts: [`127.0.0.1:${port}`],
    authorization: `Bearer ${CREDENTIAL}`,
  })
  // The proxy's forwarder must trust the test upstream's self-signed certificate.
  served = await serve(['--keys', 'keys.json', '--ca', 'ca.json'], {
    cwd: dir,
    env: { NODE_EXTRA_CA_CERTS: localhostTlsFiles.cert },
  })
}, 300_000)

afterAll(async () => {
  await served?.stop()
  await upstream?.close()
  await remove?.()
})

describe.skipIf(!hasGit)(`git through keyhole run${hasGit ? '' : ' (skipped: git is not installed)'}`, () => {
  it('lists the refs of a smart-HTTP repository, with the credential injected upstream', async () => {
    const result = await keyhole(
      [
        'run',
        '--proxy',
        served.url,
        '--token',
        token,
        '--ca-cert',
        'ca.pem',
        '--',
        'git',
        'ls-remote',
        `https://127.0.0.1:${port}/repo.git`,
      ],
      // HOME is the test directory: no user configuration of the machine's.
      { cwd: dir, env: { ...GIT_ENV, HOME: dir } },
    )
    expect(result.stderr).toBe('')
    expect(result.code).toBe(0)
    const refs = result.stdout.trim().split('\n')
    expect(refs).toContain(`${head}\trefs/heads/main`)
    expect(refs).toContain(`${head}\trefs/tags/v1`)
    // Smart HTTP: the ref advertisement, then (protocol v2) the ls-refs command as a POST.
    const asked = seen.filter((s) => s.url.startsWith('/repo.git/'))
    expect(asked.some((s) => s.url === '/repo.git/info/refs?service=git-upload-pack')).toBe(true)
    expect(asked.some((s) => s.method === 'POST' && s.url === '/repo.git/git-upload-pack')).toBe(true)
    for (const request of asked) {
      expect(request.headers.authorization).toBe(`Bearer ${CREDENTIAL}`)
      expect(request.rawHeaders.join('\n')).not.toContain(token.slice(0, 40))
      expect(request.rawHeaders.join('\n').toLowerCase()).not.toContain('proxy-authorization')
    }
    expect(served.output().stdout).not.toContain(token)
  })

  it('is refused, with git failing, when the token does not name the repository host', async () => {
    const before = seen.length
    const other = await keyhole(
      [
        'mint',
        '--keys',
        'keys.json',
        '--host',
        'git.example.com',
        '--header',
        'Authorization: Bearer x',
        '--ttl',
        '10m',
      ],
      { cwd: dir },
    )
    const result = await keyhole(
      [
        'run',
        '--proxy',
        served.url,
        '--token',
        other.stdout.trim(),
        '--ca-cert',
        'ca.pem',
        '--',
        'git',
        'ls-remote',
        `https://127.0.0.1:${port}/repo.git`,
      ],
      { cwd: dir, env: { ...GIT_ENV, HOME: dir } },
    )
    expect(result.code).not.toBe(0)
    expect(result.stderr).toMatch(/403/)
    expect(seen.length).toBe(before)
  })
})
