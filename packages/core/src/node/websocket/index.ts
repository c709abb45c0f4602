export {
  createUpgradeHandler,
  type UpgradeContext,
  type UpgradeHandler,
  type UpgradeHandlerOptions,
} from './create-upgrade-handler.js'
export { createFrameScrubber, DEFAULT_MAX_FRAME_BYTES } from './frame-scrubber.js'
