import { isTrustedSource, type GatewayConfig } from '../config/index.js';
import type { InboundMessage } from '../sip/index.js';

export type Admission =
  | {
      ok: true;
      /** `pstn` for a configured trunk, `sip` for a room system. */
      origin: 'sip' | 'pstn';
      /** Whether the offer must carry an acceptable SDES-SRTP suite (DESIGN.md, security model). */
      requireSrtp: boolean;
      trunk?: string;
    }
  | { ok: false };

/**
 * Who may start a call over which transport. Over TLS anyone may call but must bring SRTP; over
 * UDP and TCP only configured trusted trunks may call at all, and only they may use plain RTP.
 */
export class AdmissionPolicy {
  constructor(private readonly config: Pick<GatewayConfig, 'trunks'>) {}

  admit(inbound: Pick<InboundMessage, 'source'>): Admission {
    const trusted = isTrustedSource(this.config, inbound.source.address);
    if (trusted) return { ok: true, origin: 'pstn', requireSrtp: false, trunk: trusted.trunk };
    if (inbound.source.transport === 'tls') return { ok: true, origin: 'sip', requireSrtp: true };
    return { ok: false };
  }
}
