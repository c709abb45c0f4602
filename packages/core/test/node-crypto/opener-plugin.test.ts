// End to end with keyhole's own pieces: tokens from mint() open to the same grant whether the
// opener decrypts with jose or with decryptCompact plugged into its `decrypt` option, and a
// tampered token is refused the same way by both.
import { describe, expect, it } from 'vitest'
import { generateKey } from '../../src/keys/generate-key.js'
import { createKeyring } from '../../src/keys/keyring.js'
import { mint } from '../../src/mint.js'
import { nodeDecrypt } from '../../src/node/crypto/node-decrypt.js'
import { createOpener } from '../../src/open/opener.js'
import { testIssuer, testIssuers } from '../kit/issuer.js'

const SECRET = 'Bearer ghp_opener_plugin_secret'

for (const curve of ['P-256', 'X25519'] as const) {
  describe(`the opener with decryptCompact, ${curve}`, () => {
    it('opens minted tokens to the same grants as with jose, and refuses tampering alike', async () => {
      const keyring = createKeyring([await generateKey({ curve })])
      const viaJose = createOpener({ keyring, issuers: testIssuers, cacheSize: 0 })
      const viaFast = createOpener({ keyring, issuers: testIssuers, cacheSize: 0, decrypt: nodeDecrypt })
      for (let i = 0; i < 5; i++) {
        const token = await mint(
          {
            hosts: ['api.example.com', `*.tenant${i}.example.net`],
            paths: ['/v1/**'],
            methods: ['GET'],
            inject: [{ in: 'header', name: 'Authorization', value: `${SECRET}${i}` }],
            ttl: '10m',
            sub: `agent-${i}`,
          },
          { to: keyring.publicJwks(), signWith: testIssuer },
        )
        const a = await viaJose.open(token)
        const b = await viaFast.open(token)
        expect(b).toEqual(a)
        expect(b.inject[0]!.value).toBe(`${SECRET}${i}`)
        for (const at of [10, token.length >> 1, token.length - 3]) {
          const tampered = token.slice(0, at) + (token[at] === 'A' ? 'B' : 'A') + token.slice(at + 1)
          const errors = await Promise.all(
            [viaJose.open(tampered), viaFast.open(tampered)].map((p) => p.catch((e) => e)),
          )
          expect(errors.map((e) => (e as { code?: string }).code)).toEqual(['invalid_token', 'invalid_token'])
        }
      }
      expect(viaFast.stats.decryptions).toBe(viaJose.stats.decryptions)
    })
  })
}
