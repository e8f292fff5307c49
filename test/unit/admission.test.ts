import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { requirePeer } from '../peers/availability.js';
import type { Trunk } from '../../gateway/config/index.js';
import { AdmissionPolicy } from '../../gateway/policy/index.js';
import { chooseChallenge, computeAuthorization, parseMessage, type SipRequest, type TlsInfo, type TransportProtocol } from '../../gateway/sip/index.js';

const HOST = 'gw.example.org';
const peer = requirePeer('openssl');

function trunk(name: string, fields: Partial<Trunk> = {}): Trunk {
  return { name, sources: [], transport: 'udp', dids: new Map(), ...fields };
}

function invite(authorization?: string): SipRequest {
  const lines = [
    `INVITE sip:15550100@${HOST} SIP/2.0`,
    'Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-1',
    'From: <sip:carrier@192.0.2.10>;tag=a',
    `To: <sip:15550100@${HOST}>`,
    'Call-ID: admission-1',
    'CSeq: 1 INVITE',
    'Max-Forwards: 70',
    ...(authorization ? [`Authorization: ${authorization}`] : []),
    'Content-Length: 0',
    '',
    '',
  ];
  return parseMessage(Buffer.from(lines.join('\r\n'))) as SipRequest;
}

function from(address: string, transport: TransportProtocol, tls?: TlsInfo) {
  return { source: { address, port: 5060, transport }, ...(tls ? { tls } : {}) };
}

const tempDirs: string[] = [];
afterAll(() => tempDirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

/** A certificate with `commonName` as subject and `san` as its subjectAltName, made by openssl. */
function certificate(commonName: string, san: string): X509Certificate {
  const dir = mkdtempSync(join(tmpdir(), 'sipgw-admission-'));
  tempDirs.push(dir);
  const file = join(dir, 'cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', file, '-days', '1', '-subj', `/CN=${commonName}`, '-addext', `subjectAltName=${san}`], { stdio: 'pipe' });
  return new X509Certificate(readFileSync(file));
}

const verifiedTls = (peerCertificate: X509Certificate): TlsInfo => ({ version: 'TLSv1.3', cipher: 'TLS_AES_128_GCM_SHA256', peerVerified: true, peerCertificate });

describe('AdmissionPolicy', () => {
  const carrier = trunk('carrier', { sources: ['192.0.2.0/24'] });
  const digestOnly = trunk('digest-only', { digest: { username: 'gw-b', password: 'correct horse' } });
  const sbc = trunk('sbc', { sources: ['198.51.100.0/24'], transport: 'tls', tlsIdentity: 'sbc.carrier.example' });

  it('admits a trunk by source address and transport as pstn, with plain RTP allowed', () => {
    const policy = new AdmissionPolicy({ host: HOST, trunks: [carrier] });
    expect(policy.admit(from('192.0.2.10', 'udp'), invite())).toEqual({ ok: true, origin: 'pstn', requireSrtp: false, trunk: carrier });
    expect(policy.admit(from('192.0.2.10', 'tcp'), invite())).toEqual({ ok: false, status: 403 });
    expect(policy.admit(from('203.0.113.1', 'udp'), invite())).toEqual({ ok: false, status: 403 });
  });

  it('takes anyone over TLS as a room system that must bring SRTP', () => {
    const policy = new AdmissionPolicy({ host: HOST, trunks: [carrier] });
    expect(policy.admit(from('192.0.2.10', 'tls'), invite())).toEqual({ ok: true, origin: 'sip', requireSrtp: true });
  });

  it('challenges a digest trunk, admits the right password and refuses a wrong one with 403', () => {
    const policy = new AdmissionPolicy({ host: HOST, trunks: [digestOnly] });
    const challenged = policy.admit(from('203.0.113.7', 'udp'), invite());
    expect(challenged).toMatchObject({ ok: false, status: 401 });
    const challenges = (challenged as { challenges: string[] }).challenges;
    expect(challenges).toHaveLength(2);
    expect(challenges[0]).toMatch(/^Digest realm="gw\.example\.org", nonce="[^"]+", algorithm=SHA-256, qop="auth"$/);
    const challenge = chooseChallenge(challenges)!;

    const uri = `sip:15550100@${HOST}`;
    const right = computeAuthorization(challenge, 'INVITE', uri, 'gw-b', 'correct horse', { cnonce: 'c1', nc: 1 })!;
    expect(policy.admit(from('203.0.113.7', 'udp'), invite(right))).toEqual({ ok: true, origin: 'pstn', requireSrtp: false, trunk: digestOnly });

    const wrong = computeAuthorization(challenge, 'INVITE', uri, 'gw-b', 'wrong horse', { cnonce: 'c2', nc: 1 })!;
    expect(policy.admit(from('203.0.113.7', 'udp'), invite(wrong))).toEqual({ ok: false, status: 403, trunk: digestOnly });
    const stranger = computeAuthorization(challenge, 'INVITE', uri, 'someone', 'correct horse', { cnonce: 'c3', nc: 1 })!;
    expect(policy.admit(from('203.0.113.7', 'udp'), invite(stranger))).toEqual({ ok: false, status: 403, trunk: digestOnly });
  });

  it('offers only the pinned algorithm when the trunk names one', () => {
    const md5Only = trunk('md5-only', { digest: { username: 'old', password: 'correct horse', algorithm: 'MD5' } });
    const challenged = new AdmissionPolicy({ host: HOST, trunks: [md5Only] }).admit(from('203.0.113.7', 'udp'), invite());
    expect((challenged as { challenges: string[] }).challenges).toEqual([expect.stringMatching(/algorithm=MD5, qop="auth"$/)]);
  });

  it('prefers a trunk trusted by address to a digest trunk that would challenge', () => {
    const policy = new AdmissionPolicy({ host: HOST, trunks: [digestOnly, carrier] });
    expect(policy.admit(from('192.0.2.10', 'udp'), invite())).toMatchObject({ ok: true, trunk: carrier });
  });

  it.skipIf(peer.skip)('admits a TLS trunk only with a verified client certificate naming it; otherwise the caller is a room system', () => {
    const policy = new AdmissionPolicy({ host: HOST, trunks: [sbc] });
    const carrierCertificate = certificate('sbc', 'DNS:sbc.carrier.example');
    expect(policy.admit(from('198.51.100.5', 'tls', verifiedTls(carrierCertificate)), invite())).toEqual({
      ok: true,
      origin: 'pstn',
      requireSrtp: false,
      trunk: sbc,
    });
    const roomSystem = { ok: true, origin: 'sip', requireSrtp: true };
    expect(policy.admit(from('198.51.100.5', 'tls', verifiedTls(certificate('other', 'DNS:other.example'))), invite())).toEqual(roomSystem);
    expect(policy.admit(from('198.51.100.5', 'tls', { ...verifiedTls(carrierCertificate), peerVerified: false }), invite())).toEqual(roomSystem);
    // The name only in the subject is not the carrier's: its DNS names are.
    expect(policy.admit(from('198.51.100.5', 'tls', verifiedTls(certificate('sbc.carrier.example', 'DNS:other.example'))), invite())).toEqual(roomSystem);
    expect(policy.admit(from('198.51.100.5', 'tls'), invite())).toEqual(roomSystem);
  });
});
