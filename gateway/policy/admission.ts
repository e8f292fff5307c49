import { candidateTrunks, type GatewayConfig, type Trunk } from '../config/index.js';
import { DigestServer, type InboundMessage, type SipRequest, type TlsInfo } from '../sip/index.js';

export type Admission =
  | {
      ok: true;
      /** `pstn` for a configured trunk, `sip` for a room system. */
      origin: 'sip' | 'pstn';
      /** Whether the offer must carry an acceptable SDES-SRTP suite (DESIGN.md, security model). */
      requireSrtp: boolean;
      trunk?: Trunk;
    }
  /** Answer 401 with these `WWW-Authenticate` values: a digest trunk's request without (fresh) credentials. */
  | { ok: false; status: 401; challenges: string[]; trunk: Trunk }
  /** Answer 403: not a trunk and not TLS, or a trunk's credentials were wrong. */
  | { ok: false; status: 403; trunk?: Trunk };

/**
 * Who may start a call over which transport. Over TLS anyone may call but must bring SRTP; over
 * UDP and TCP only configured trunks may call at all, and only they may use plain RTP. A trunk is
 * recognised by transport and source address, and proves itself further with digest credentials
 * or a TLS client certificate where configured.
 */
export class AdmissionPolicy {
  private readonly digest = new DigestServer();

  constructor(private readonly config: Pick<GatewayConfig, 'trunks' | 'host'>) {}

  admit(inbound: Pick<InboundMessage, 'source' | 'tls'>, request: SipRequest): Admission {
    const { address, transport } = inbound.source;
    const candidates = candidateTrunks(this.config.trunks, address, transport).filter((trunk) => hasIdentity(trunk, inbound.tls));
    const open = candidates.find((trunk) => !trunk.digest);
    if (open) return trunkAdmission(open);
    const withDigest = candidates.filter((trunk) => trunk.digest);
    if (withDigest.length > 0) return this.authenticate(request, withDigest);
    if (transport === 'tls') return { ok: true, origin: 'sip', requireSrtp: true };
    return { ok: false, status: 403 };
  }

  private authenticate(request: SipRequest, trunks: Trunk[]): Admission {
    const realm = this.config.host;
    const verdict = this.digest.verifyAuthorization(request, (username) => trunks.find((t) => t.digest?.username === username)?.digest?.password, realm);
    if (verdict.ok) return trunkAdmission(trunks.find((t) => t.digest?.username === verdict.user)!);
    const challenged = trunks[0]!;
    if (verdict.reason === 'missing' || verdict.reason === 'stale') {
      // RFC 8760: strongest first; MD5 stays for carriers' older equipment.
      const stale = { stale: verdict.reason === 'stale' };
      const pinned = challenged.digest?.algorithm;
      const algorithms = pinned ? [pinned] : (['SHA-256', 'MD5'] as const);
      const challenges = algorithms.map((algorithm) => this.digest.createChallenge(realm, algorithm, stale).header);
      return { ok: false, status: 401, challenges, trunk: challenged };
    }
    return { ok: false, status: 403, trunk: challenged };
  }
}

function trunkAdmission(trunk: Trunk): Admission {
  return { ok: true, origin: 'pstn', requireSrtp: false, trunk };
}

/** A TLS trunk with an identity admits only a verified client certificate naming it. */
function hasIdentity(trunk: Trunk, tls: TlsInfo | undefined): boolean {
  if (!trunk.tlsIdentity) return true;
  if (!tls?.peerVerified || !tls.peerCertificate) return false;
  // Node's own matching: subjectAltName entries only, so a crafted subject or SAN text cannot pose as a DNS name.
  return tls.peerCertificate.checkHost(trunk.tlsIdentity, { subject: 'never' }) !== undefined;
}
