/** This package's version, reported as the tracer's and the meter's instrumentation version. */
export const VERSION = '0.1.0'
