import { resolve } from 'node:path'
import { createOpener, isKeyholeError, type Keyring, toPublicJwk } from '@keyhole/core'
import { CliError, EXIT_OK, usageError } from '../cli-error.js'
import type { Command } from '../command.js'
import { loadKeys } from '../load-keyring.js'
import { maskClaims } from '../mask.js'
import { parseCommand, single } from '../parse.js'
import { loadPluginInjectors } from '../plugin-injectors.js'
import { readProtectedHeader } from '../read-header.js'
import { peelLayers, readUnverifiedGrant } from '../token-layers.js'

const help = `Usage: keyhole inspect <token|-> [--keys keys.json]

Prints what a token says about itself. Without keys: its public header (key id, algorithms, the
hosts hint, and jkt when it is bound to a key), which anyone can read. With the proxy's private key
set: also its claims (jti, expiry, subject, hosts, paths, methods, where credentials are injected),
with credential values masked.

With keys the token is opened exactly as the proxy would open it, so an expired or tampered token
is reported as such, and "signature" says whether the key set's own issuer key signed the grant
("trusted"), it is "unsigned", or another issuer signed it ("untrusted": a proxy honours it only
with that issuer in --trust-issuer; "issuer" then names the key that signed it, and the claims
shown are read without a trusted signature). "claims" are the outermost layer's; "layers" lists the claims
of every layer, outermost first, ending with the grant itself (one entry for a token that was
never attenuated). A request must satisfy every layer. Pass - to read the token from standard
input (keeps it out of argv).

Options:
  --keys <file>  the private key set written by 'keyhole keygen'
  -h, --help     show this help

Examples:
  keyhole inspect "$TOKEN"
  printf %s "$TOKEN" | keyhole inspect - --keys keys.json
`

/** `keyhole inspect`: shows a token's header and, with keys, its masked claims. */
export const inspectCommand: Command = {
  name: 'inspect',
  help,
  async run(argv, io) {
    const parsed = parseCommand(
      { command: 'inspect', options: { keys: { type: 'string' } }, positionals: ['token'], paths: ['keys'] },
      argv,
    )
    if (parsed.help) {
      io.stdout(help)
      return EXIT_OK
    }
    const argument = parsed.positionals[0] as string
    const token = (argument === '-' ? await io.readStdin() : argument).trim()
    if (token === '') throw usageError('the token is empty')
    const header = readProtectedHeader(token)
    const keysFile = single(parsed.values.keys)
    if (keysFile === undefined) {
      io.stdout(`${JSON.stringify({ header }, null, 2)}\n`)
      return EXIT_OK
    }
    const { keyring, issuers } = await loadKeys(resolve(io.cwd, keysFile), keysFile)
    // Unsigned tokens open here too, so that their claims can be shown; "signature" says so.
    // The plug-in kinds are known as in `keyhole serve`, so an aws-sigv4 grant opens here too.
    const opener = createOpener({
      keyring,
      injectors: await loadPluginInjectors(),
      issuers: issuers.length > 0 ? [{ keys: { keys: issuers.map((key) => toPublicJwk(key)) } }] : [],
      acceptUnsigned: true,
    })
    try {
      // Every check first, on the whole chain; only then are the layers read one by one.
      const grant = await opener.open(token)
      const signature = grant.issuerKid
        ? { signature: 'trusted', issuer: grant.issuerKid }
        : { signature: 'unsigned' }
      const { layers: outer, innermost } = peelLayers(token, keyring)
      const opened = outer.length === 0 ? grant : await opener.open(innermost)
      // The signed claims only: the opener's own additions (the decryption key's kid, the signer,
      // the chain of layer ids) are not claims, and are shown as header.kid and issuer already.
      const { kid: _kid, issuerKid: _issuerKid, chain: _chain, ...center } = opened
      io.stdout(`${JSON.stringify({ header, ...signature, ...maskedLayers(outer, center) }, null, 2)}\n`)
      return EXIT_OK
    } catch (error) {
      if (!isKeyholeError(error)) throw error
      if (error.reason === 'unknown_issuer') {
        io.stdout(
          `${JSON.stringify({ header, signature: 'untrusted', ...untrustedClaims(token, keyring) }, null, 2)}\n`,
        )
        throw new CliError(
          `the token is signed by an issuer key that is not in ${keysFile}; a proxy honours it only if it trusts that issuer (--trust-issuer)`,
          undefined,
          { cause: error },
        )
      }
      io.stdout(`${JSON.stringify({ header }, null, 2)}\n`)
      throw new CliError(`the proxy would refuse this token: ${error.message} (${error.code})`, undefined, {
        cause: error,
      })
    }
  },
}

// For a grant another issuer signed: its issuer kid (what --trust-issuer needs) and its claims,
// read without verifying the signature and masked like any others. Nothing when unreadable.
function untrustedClaims(token: string, keyring: Keyring) {
  try {
    const { layers: outer, innermost } = peelLayers(token, keyring)
    const grant = readUnverifiedGrant(innermost, keyring)
    if (grant === undefined) return {}
    return { ...(grant.issuer ? { issuer: grant.issuer } : {}), ...maskedLayers(outer, grant.claims) }
  } catch {
    return {}
  }
}

// `claims` (the outermost layer's) and `layers` (outermost first, ending with the grant). Every
// layer goes through the mask, not only the one that carries credentials.
function maskedLayers(outer: readonly Record<string, unknown>[], grant: Record<string, unknown>) {
  const layers = [...outer, grant].map((claims) => maskClaims(claims))
  return { claims: layers[0], layers }
}
