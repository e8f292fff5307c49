import { describe, expect, it } from 'vitest';
import { describeLabel, legMetricLabels, sipLegLabel } from '../../gateway/calls/index.js';

describe('a SIP leg\'s security label, as participants read it and metrics count it', () => {
  it('counts SRTP over TLS as encrypted, with its suite', () => {
    const label = sipLegLabel({ origin: 'sip', transport: 'tls', tls: { version: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384', peerVerified: false }, sdesSuite: 'AEAD_AES_256_GCM' });
    expect(describeLabel(label)).toBe('Room system · SIP over TLS 1.3 · SRTP AEAD_AES_256_GCM');
    expect(legMetricLabels(label)).toEqual({ origin: 'sip', media: 'sdes-srtp', suite: 'AEAD_AES_256_GCM', encrypted: 'true' });
  });

  it('counts SDES-SRTP whose keys crossed clear signalling (a UDP trunk) as not encrypted', () => {
    const label = sipLegLabel({ origin: 'pstn', transport: 'udp', sdesSuite: 'AES_CM_128_HMAC_SHA1_80' });
    expect(describeLabel(label)).toBe('Phone · not encrypted');
    expect(legMetricLabels(label)).toEqual({ origin: 'pstn', media: 'sdes-srtp', suite: 'AES_CM_128_HMAC_SHA1_80', encrypted: 'false' });
  });

  it('counts plain RTP from a phone as not encrypted, with no suite', () => {
    const label = sipLegLabel({ origin: 'pstn', transport: 'udp', sdesSuite: null });
    expect(legMetricLabels(label)).toEqual({ origin: 'pstn', media: 'none', suite: 'none', encrypted: 'false' });
  });
});
