// @keyhole/otel: OpenTelemetry spans and metrics from keyhole proxy events.
export { createOtelListener, type OtelListenerOptions } from './otel-listener.js'
