export {
  attachForwardProxy,
  createForwardProxy,
  type ForwardProxy,
  type ForwardProxyOptions,
} from './create-forward-proxy.js'
export { chooseToken, readProxyTokens } from './proxy-tokens.js'
