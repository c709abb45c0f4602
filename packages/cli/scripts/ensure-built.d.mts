/** The built binary, packages/cli/dist/bin.js. */
export declare const binPath: string
/** True when dist/bin.js is missing or older than a source file it bundles. */
export declare function isStale(): boolean
/** Builds the CLI if needed (serialized across processes) and returns the binary's path. */
export declare function ensureBuilt(options?: { quiet?: boolean }): string
