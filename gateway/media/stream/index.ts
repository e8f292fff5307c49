export { SecureRtpStream } from './secure-rtp-stream.js';
export type {
  MediaStream,
  PeerReception,
  StreamCodec,
  StreamDirection,
  StreamEvents,
  StreamOptions,
  StreamParams,
} from './secure-rtp-stream.js';
