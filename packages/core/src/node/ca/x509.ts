// @peculiar/x509 needs a Reflect metadata polyfill (its dependency injection container, tsyringe,
// throws at load time without one). Both are loaded here, on first use, so that importing
// `@keyhole/core/node` installs nothing global unless a certificate authority is actually made.

type X509Module = typeof import('@peculiar/x509')

let loading: Promise<X509Module> | undefined

/** Loads `@peculiar/x509` (after `reflect-metadata`) once. */
export function loadX509(): Promise<X509Module> {
  loading ??= (async () => {
    await import('reflect-metadata')
    return import('@peculiar/x509')
  })()
  return loading
}

/** ECDSA P-256 with SHA-256: the CA's and every leaf's key and signature algorithm. */
export const EC_P256 = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const

/** Wraps DER bytes as PEM with the given label. */
export function toPem(der: ArrayBuffer, label: string): string {
  const base64 = Buffer.from(der).toString('base64')
  const lines = base64.match(/.{1,64}/g) ?? []
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`
}
