// keyhole's shared test kit: keys and issuers, attacker-side token crafting, and recording
// upstreams. Suites import from here (relative path) instead of writing their own.
export * from './craft.js'
export * from './issuer.js'
export * from './jwe.js'
export * from './jws.js'
export * from './keys.js'
export * from './routes.js'
export * from './tls.js'
export * from './upstream.js'
