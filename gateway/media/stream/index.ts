export { SecureRtpStream } from './secure-rtp-stream.js';
export type { MediaStream, StreamDirection, StreamEvents, StreamParams } from './secure-rtp-stream.js';
