// The programmatic side of @keyhole/cli: run the command line from code, or start the standalone proxy.
export { EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from './cli-error.js'
export { expandEnv } from './expand-env.js'
export { type CliIo, processIo } from './io.js'
export { run } from './run.js'
export { type KeyholeServer, type ServerOptions, startServer } from './server.js'
