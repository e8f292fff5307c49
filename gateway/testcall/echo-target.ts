import { randomBytes } from 'node:crypto';
import type { CallTarget, Leg } from '../calls/index.js';

/**
 * The test-call service (`sip:echo@gateway`): every RTP packet a leg sends comes back to it on the
 * same stream. The packet is decrypted with the caller's key on the way in and re-encrypted with the
 * gateway's own key on the way out, so the caller checks its whole TLS + SRTP + media path.
 */
export class EchoTarget implements CallTarget {
  attach(leg: Leg): void {
    leg.onStream((stream) => {
      // A caller that sees its own SSRC come back may take it for a loop (RFC 3550 §8.2).
      const ssrc = randomBytes(4).readUInt32BE(0);
      stream.onRtp((packet) => {
        packet.writeUInt32BE(ssrc, 8);
        stream.sendRtp(packet);
      });
    });
  }
}
