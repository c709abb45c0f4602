import { assertJti, ISSUER_REVOCATION_SECONDS, isIssuerKid, issuerRevocationId } from '@keyhole/core'
import { adminTokenFromEnv } from '../admin-token.js'
import { CliError, EXIT_OK, usageError } from '../cli-error.js'
import type { Command } from '../command.js'
import { networkReason } from '../network-reason.js'
import { parseCommand, single } from '../parse.js'
import { parseExpiry } from '../parse-time.js'
import { STORE_ARGV_WARNING, storeUrlFromEnv } from '../store-url.js'

// The opener's default maximum token lifetime: a token cannot outlive this, so neither need its revocation.
const DEFAULT_KEEP_SECONDS = 24 * 3600

const help = `Usage: keyhole revoke (<jti> | --issuer <kid>) --url <proxy> --admin-token-env <VAR> [--exp <when>]
       keyhole revoke (<jti> | --issuer <kid>) --store-env <VAR> [--exp <when>]
       (--exp goes with a <jti> only: an issuer stays revoked for ten years)

Revokes a token by its id (jti): the proxy refuses it from then on, also from its cache. Find a
token's jti with 'keyhole inspect <token> --keys keys.json', or in the proxy's request log.
With --issuer, revokes every token one issuer key signed (its kid: 'keyhole keygen' prints it as
'sig <kid>', and 'keyhole jwks --issuer' lists it), also those it signs later: kept for ten years.
Take the key out of every proxy's --trust-issuer as well; that is what ends trust for good.

Either ask a running proxy (its POST /revoke route, enabled by 'keyhole serve --admin-token-env'),
or write straight into the revocation store the proxies share.

Options:
  --url <proxy>            the proxy's base URL, e.g. http://127.0.0.1:8787
  --admin-token-env <VAR>  the NAME of the environment variable holding the proxy's admin token
  --issuer <kid>           revoke everything the issuer key with this kid signed
  --store-env <VAR>        the NAME of the environment variable holding the URL of a shared
                           revocation store: redis://[user:pass@]host:6379[/db] or
                           postgres://user@host:5432/db
  --store <url>            the same, from the command line (warns: argv is visible to other users)
  --exp <when>             the token's expiry ("exp" from inspect: seconds since the epoch, or an
                           ISO date); the revocation is kept until then. Default: 24 hours from
                           now, the proxy's default maximum token lifetime
  -h, --help               show this help

Examples:
  KEYHOLE_ADMIN_TOKEN=... keyhole revoke Qm9v... --url http://127.0.0.1:8787 --admin-token-env KEYHOLE_ADMIN_TOKEN
  KEYHOLE_STORE_URL=redis://127.0.0.1:6379 keyhole revoke Qm9v... --store-env KEYHOLE_STORE_URL --exp 1767225600
  keyhole revoke --issuer 3kq... --url http://127.0.0.1:8787 --admin-token-env KEYHOLE_ADMIN_TOKEN
`

/** `keyhole revoke`: revokes a token id through a proxy's admin route or a shared store. */
export const revokeCommand: Command = {
  name: 'revoke',
  help,
  async run(argv, io) {
    const parsed = parseCommand(
      {
        command: 'revoke',
        options: {
          url: { type: 'string' },
          'admin-token-env': { type: 'string' },
          store: { type: 'string' },
          'store-env': { type: 'string' },
          issuer: { type: 'string' },
          exp: { type: 'string' },
        },
        positionals: ['jti'],
        requiredPositionals: 0,
        dashPositionals: true,
      },
      argv,
    )
    if (parsed.help) {
      io.stdout(help)
      return EXIT_OK
    }
    const { values } = parsed
    const issuer = single(values.issuer)
    const given = parsed.positionals[0]
    if ((given === undefined) === (issuer === undefined))
      throw usageError('give either a <jti> or --issuer <kid>')
    if (issuer !== undefined && !isIssuerKid(issuer))
      throw usageError(
        "--issuer takes an issuer key's kid: its 43-character thumbprint, as 'keyhole jwks --issuer' lists it",
      )
    // An issuer is revoked through the id the opener checks for every grant that key signed.
    const jti = given ?? issuerRevocationId(issuer as string)
    try {
      assertJti(jti)
    } catch (error) {
      throw usageError(`${issuer === undefined ? '<jti>' : '--issuer'}: ${(error as Error).message}`)
    }
    const url = single(values.url)
    const storeArg = single(values.store)
    const storeEnv = single(values['store-env'])
    if (storeArg !== undefined && storeEnv !== undefined)
      throw usageError('give either --store-env <VAR> or --store <url>, not both')
    const store = storeEnv !== undefined ? storeUrlFromEnv(storeEnv, io.env) : storeArg
    if (storeArg !== undefined) io.stderr(STORE_ARGV_WARNING)
    const envName = single(values['admin-token-env'])
    const exp = single(values.exp)
    if (issuer !== undefined && exp !== undefined)
      throw usageError('--exp goes with a <jti>; an issuer is revoked for ten years')
    const keepSeconds = issuer === undefined ? DEFAULT_KEEP_SECONDS : ISSUER_REVOCATION_SECONDS
    const expiresAt =
      exp === undefined ? new Date(Date.now() + keepSeconds * 1000) : parseExpiry(exp, '--exp')
    if (expiresAt.getTime() <= Date.now()) {
      io.stderr(`that token has already expired (${expiresAt.toISOString()}); nothing to revoke\n`)
      return EXIT_OK
    }

    if ((url === undefined) === (store === undefined))
      throw usageError('give either --url <proxy> (with --admin-token-env) or --store-env <VAR>')
    if (store !== undefined) {
      if (envName !== undefined) throw usageError('--admin-token-env goes with --url, not with --store-env')
      await revokeInStore(
        store,
        storeEnv === undefined ? '--store' : `$${storeEnv} (--store-env)`,
        jti,
        expiresAt,
      )
    } else {
      if (envName === undefined)
        throw usageError(
          "--admin-token-env is required with --url: the NAME of the variable holding the proxy's admin token",
        )
      const body = issuer === undefined ? { jti, exp: Math.ceil(expiresAt.getTime() / 1000) } : { issuer }
      await revokeThroughProxy(url as string, adminTokenFromEnv(envName, io.env), envName, jti, body)
    }
    const what = issuer === undefined ? jti : `everything issuer key ${issuer} signed (${jti})`
    io.stderr(`revoked ${what} (kept until ${expiresAt.toISOString()})\n`)
    return EXIT_OK
  },
}

async function revokeInStore(url: string, source: string, jti: string, expiresAt: Date): Promise<void> {
  // Loaded only here: the Redis and Postgres clients are large and most commands never need them.
  const { openStore } = await import('../open-store.js')
  const store = await openStore(url, { source })
  try {
    await store.ready()
    await store.store.revoke(jti, expiresAt)
  } catch (error) {
    if (error instanceof CliError) throw error
    throw new CliError(`the revocation store at ${store.display} did not record the revocation`, undefined, {
      cause: error,
    })
  } finally {
    await store.close()
  }
}

async function revokeThroughProxy(
  base: string,
  adminToken: string,
  envName: string,
  jti: string,
  body: { jti: string; exp: number } | { issuer: string },
): Promise<void> {
  let target: URL
  try {
    target = new URL(base)
  } catch {
    throw usageError('--url must be the proxy base URL, e.g. http://127.0.0.1:8787')
  }
  if (target.protocol !== 'http:' && target.protocol !== 'https:')
    throw usageError('--url must be an http(s) URL')
  if (target.username || target.password) throw usageError('--url must not contain a user name or password')
  if (!target.pathname.endsWith('/revoke')) target.pathname = `${target.pathname.replace(/\/+$/, '')}/revoke`
  let response: Response
  try {
    response = await fetch(target, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
      redirect: 'manual',
      signal: AbortSignal.timeout(10_000),
    })
  } catch (error) {
    const reason =
      networkReason(error) ??
      (error instanceof Error && error.name === 'TimeoutError' ? 'timed out' : 'network error')
    throw new CliError(
      `cannot reach the proxy at ${target.origin} (${reason}); is 'keyhole serve' running there?`,
    )
  }
  if (response.ok) {
    // Only keyhole's own answer counts: a 200 from something else at that URL (a catch-all page,
    // a different service) revoked nothing, and saying otherwise would leave the token live.
    const answer = (await response.json().catch(() => undefined)) as { revoked?: unknown } | undefined
    if (answer?.revoked === true) return
    throw new CliError(
      `${target.origin}${target.pathname} answered ${response.status} without {"revoked":true}; is it a keyhole proxy? Nothing is known to be revoked`,
    )
  }
  const detail = await errorDetail(response)
  if (response.status === 401 || response.status === 403)
    throw new CliError(`the proxy refused the admin token from ${envName} (${response.status}${detail})`)
  if (response.status === 404)
    throw new CliError(
      `no revoke route at ${target.href} (404); start the proxy with --admin-token-env, or revoke with --store`,
    )
  throw new CliError(`the proxy did not revoke ${jti} (${response.status}${detail})`)
}

// The proxy's own error body is designed to be shown (no secrets); anything else is not echoed.
async function errorDetail(response: Response): Promise<string> {
  const code = response.headers.get('x-keyhole-error')
  try {
    const body = (await response.json()) as { error?: { code?: unknown; message?: unknown } }
    if (code && typeof body.error?.message === 'string') return `, ${code}: ${body.error.message}`
  } catch {}
  return code ? `, ${code}` : ''
}
