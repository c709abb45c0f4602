import type { Injector } from '@keyhole/core'

/** The credential types that live outside core and that the CLI always offers. */
export const PLUGIN_TYPES: readonly string[] = ['aws-sigv4']

/**
 * Loads the credential injectors that do not ship with core: `aws-sigv4` from `@keyhole/aws`.
 * Imported dynamically so the commands that never see such a grant (most `mint` runs, `keygen`,
 * `jwks`, ...) do not pay for loading the SigV4 signer.
 *
 * @example
 * ```ts
 * const injectors = await loadPluginInjectors()
 * createOpener({ keyring, injectors })
 * ```
 */
export async function loadPluginInjectors(): Promise<readonly Injector<never>[]> {
  const { awsSigV4Injector } = await import('@keyhole/aws')
  return [awsSigV4Injector as Injector<never>]
}
