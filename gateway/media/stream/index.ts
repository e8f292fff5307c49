export { SecureRtpStream } from './secure-rtp-stream.js';
export type { MediaStream, StreamCodec, StreamDirection, StreamEvents, StreamParams } from './secure-rtp-stream.js';
