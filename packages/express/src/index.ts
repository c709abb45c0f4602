// The public API of @keyhole/express.
export { type AdminOptions, admin, type ClientAddress } from './admin.js'
export { type KeyholeMiddleware, type KeyholeOptions, keyhole } from './keyhole.js'
export { type KeyholeAuthOptions, type KeyholeContext, keyholeAuth, keyholeErrors } from './keyhole-auth.js'
export { health } from './routes/health.js'
export { jwks, type PublicKeySource } from './routes/jwks.js'
export { type MintRouteOptions, mint } from './routes/mint.js'
export { type RevokeOptions, revoke } from './routes/revoke.js'
