// The public API of @keyhole/aws.

export { type AwsSigV4Injection, awsSigV4Injector } from './aws-sigv4.js'
