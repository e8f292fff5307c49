import type { CallTarget, Leg } from '../calls/index.js';

/**
 * The test-call service (`sip:echo@gateway`): every RTP packet a leg sends comes back to it on the
 * same stream. The packet is decrypted with the caller's key on the way in and re-encrypted with the
 * gateway's own key on the way out, so the caller checks its whole TLS + SRTP + media path. The
 * stream sends under its own SSRC, so the caller never sees its own come back (RFC 3550 §8.2).
 */
export class EchoTarget implements CallTarget {
  attach(leg: Leg): void {
    leg.onStream((stream) => stream.onRtp((packet) => stream.sendRtp(packet)));
  }
}
