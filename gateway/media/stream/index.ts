export { SecureRtpStream } from './secure-rtp-stream.js';
export type {
  MediaStream,
  StreamCodec,
  StreamDirection,
  StreamEvents,
  StreamOptions,
  StreamParams,
} from './secure-rtp-stream.js';
export type { PeerReception } from '../rtcp/index.js';
