// @keyhole/core/node: Node-only fast paths that Node entry points plug into the engine.
export {}
