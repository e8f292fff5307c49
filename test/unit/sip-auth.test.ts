import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DigestServer, chooseChallenge, computeAuthorization } from '../../gateway/sip/auth/index.js';
import type { DigestAlgorithm } from '../../gateway/sip/auth/index.js';
import { parseMessage } from '../../gateway/sip/message/index.js';
import type { SipRequest } from '../../gateway/sip/message/index.js';

const REALM = 'sipgw.example.net';
const USERS: Record<string, string> = { trunk1: 's3cret-Trunk' };
const lookup = (user: string, realm: string): string | undefined => (realm === REALM ? USERS[user] : undefined);

function invite(authorization?: string): SipRequest {
  const lines = [
    'INVITE sip:1234@sipgw.example.net SIP/2.0',
    'Via: SIP/2.0/UDP 203.0.113.20;branch=z9hG4bKauth1',
    'Max-Forwards: 70',
    'From: <sip:trunk1@203.0.113.20>;tag=a',
    'To: <sip:1234@sipgw.example.net>',
    'Call-ID: auth-1',
    'CSeq: 2 INVITE',
    ...(authorization === undefined ? [] : [`Authorization: ${authorization}`]),
    'Content-Length: 0',
    '',
    '',
  ];
  const message = parseMessage(Buffer.from(lines.join('\r\n')));
  if (message.type !== 'request') throw new Error('not a request');
  return message;
}

function parameter(header: string, name: string): string | undefined {
  return new RegExp(`${name}="?([^",]+)"?`).exec(header)?.[1];
}

describe('digest: known answers', () => {
  it('reproduces the RFC 2617 §3.5 MD5 example', () => {
    const challenge =
      'Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"';
    const header = computeAuthorization(challenge, 'GET', '/dir/index.html', 'Mufasa', 'Circle Of Life', { cnonce: '0a4f113b', nc: 1 });
    expect(parameter(header!, 'response')).toBe('6629fae49393a05397450978507c4ef1');
    expect(header).toContain('opaque="5ccc069c403ebaf9f0171e9517f40e41"');
    expect(header).toContain('nc=00000001');
  });

  it.each([
    ['SHA-256', '753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1'],
    ['MD5', '8ca523f5e9506fed4657c9700eebdbec'],
  ])('reproduces the RFC 7616 §3.9.1 %s example', (algorithm, expected) => {
    const challenge = `Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=${algorithm}, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"`;
    const header = computeAuthorization(challenge, 'GET', '/dir/index.html', 'Mufasa', 'Circle of Life', {
      cnonce: 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ',
    });
    expect(parameter(header!, 'response')).toBe(expected);
  });

  it('computes SHA-512-256 by the RFC 7616 §3.4.1 formula', () => {
    const h = (s: string): string => createHash('sha512-256').update(s).digest('hex');
    const ha1 = h(`alice:${REALM}:pw`);
    const ha2 = h('REGISTER:sip:sipgw.example.net');
    const expected = h(`${ha1}:abc:00000002:xyz:auth:${ha2}`);
    const header = computeAuthorization(`Digest realm="${REALM}", nonce="abc", algorithm=SHA-512-256, qop="auth"`, 'REGISTER', 'sip:sipgw.example.net', 'alice', 'pw', {
      cnonce: 'xyz',
      nc: 2,
    });
    expect(parameter(header!, 'response')).toBe(expected);
    expect(header).toContain('algorithm=SHA-512-256');
  });

  it('answers a challenge without qop the RFC 2069 way, and a -sess one with the session HA1', () => {
    const h = (s: string): string => createHash('md5').update(s).digest('hex');
    const plain = computeAuthorization('Digest realm="r", nonce="n"', 'INVITE', 'sip:x@y', 'u', 'p');
    expect(parameter(plain!, 'response')).toBe(h(`${h('u:r:p')}:n:${h('INVITE:sip:x@y')}`));
    expect(plain).not.toContain('qop=');

    const sess = computeAuthorization('Digest realm="r", nonce="n", algorithm=MD5-sess, qop="auth"', 'INVITE', 'sip:x@y', 'u', 'p', { cnonce: 'c' });
    const ha1 = h(`${h('u:r:p')}:n:c`);
    expect(parameter(sess!, 'response')).toBe(h(`${ha1}:n:00000001:c:auth:${h('INVITE:sip:x@y')}`));
  });

  it('declines challenges it cannot answer', () => {
    expect(computeAuthorization('Digest realm="r", nonce="n", algorithm=SHA-1', 'INVITE', 'sip:x@y', 'u', 'p')).toBeUndefined();
    expect(computeAuthorization('Basic realm="r"', 'INVITE', 'sip:x@y', 'u', 'p')).toBeUndefined();
    expect(computeAuthorization('Digest realm="r, nonce=n', 'INVITE', 'sip:x@y', 'u', 'p')).toBeUndefined();
    expect(computeAuthorization('Digest realm="r", nonce="n", qop="auth-conf"', 'INVITE', 'sip:x@y', 'u', 'p')).toBeUndefined();
  });

  it('picks the strongest supported challenge', () => {
    const md5 = 'Digest realm="r", nonce="1", algorithm=MD5';
    const sha256 = 'Digest realm="r", nonce="2", algorithm=SHA-256';
    const unknown = 'Digest realm="r", nonce="3", algorithm=SHA-1';
    expect(chooseChallenge([md5, unknown, sha256])).toBe(sha256);
    expect(chooseChallenge([unknown])).toBeUndefined();
  });
});

describe('digest: server round trips', () => {
  function answer(server: DigestServer, algorithm: DigestAlgorithm, user = 'trunk1', password = 's3cret-Trunk'): SipRequest {
    const { header } = server.createChallenge(REALM, algorithm);
    return invite(computeAuthorization(header, 'INVITE', 'sip:1234@sipgw.example.net', user, password));
  }

  it.each(['MD5', 'SHA-256', 'SHA-512-256'] as const)('accepts correct %s credentials', (algorithm) => {
    const server = new DigestServer();
    expect(server.verifyAuthorization(answer(server, algorithm), lookup, REALM)).toEqual({ ok: true, user: 'trunk1' });
  });

  it('challenges with qop=auth, the algorithm and a fresh nonce each time', () => {
    const server = new DigestServer();
    const first = server.createChallenge(REALM, 'SHA-256');
    const second = server.createChallenge(REALM, 'SHA-256');
    expect(first.header).toMatch(/^Digest realm="sipgw\.example\.net", nonce="[^"]+", algorithm=SHA-256, qop="auth"$/);
    expect(first.nonce).not.toBe(second.nonce);
    expect(server.createChallenge(REALM, 'MD5', { stale: true }).header).toContain('stale=TRUE');
  });

  it('says missing when there are no credentials for the realm', () => {
    const server = new DigestServer();
    expect(server.verifyAuthorization(invite(), lookup, REALM)).toEqual({ ok: false, reason: 'missing' });
    const other = new DigestServer().createChallenge('elsewhere', 'MD5').header;
    const forOtherRealm = invite(computeAuthorization(other, 'INVITE', 'sip:1234@sipgw.example.net', 'trunk1', 's3cret-Trunk'));
    expect(server.verifyAuthorization(forOtherRealm, lookup, REALM)).toEqual({ ok: false, reason: 'missing' });
  });

  it('rejects a wrong password and an unknown user', () => {
    const server = new DigestServer();
    expect(server.verifyAuthorization(answer(server, 'SHA-256', 'trunk1', 'guess'), lookup, REALM)).toEqual({ ok: false, reason: 'bad-response' });
    expect(server.verifyAuthorization(answer(server, 'SHA-256', 'mallory', 'x'), lookup, REALM)).toEqual({ ok: false, reason: 'unknown-user' });
  });

  it('says stale for a correct answer to an expired nonce, but bad-response for a wrong one', () => {
    let now = 1_000_000;
    const server = new DigestServer({ nonceMaxAgeMs: 60_000, now: () => now });
    const good = answer(server, 'SHA-256');
    const bad = answer(server, 'SHA-256', 'trunk1', 'guess');
    now += 60_001;
    expect(server.verifyAuthorization(good, lookup, REALM)).toEqual({ ok: false, reason: 'stale' });
    expect(server.verifyAuthorization(bad, lookup, REALM)).toEqual({ ok: false, reason: 'bad-response' });
  });

  it('does not honour nonces it did not issue, or issued for another algorithm', () => {
    const server = new DigestServer();
    const forged = invite(computeAuthorization(`Digest realm="${REALM}", nonce="${Date.now().toString(16)}.x.y", qop="auth", algorithm=SHA-256`, 'INVITE', 'sip:1234@sipgw.example.net', 'trunk1', 's3cret-Trunk'));
    expect(server.verifyAuthorization(forged, lookup, REALM)).toEqual({ ok: false, reason: 'stale' });

    const { nonce } = server.createChallenge(REALM, 'SHA-256');
    const downgraded = invite(computeAuthorization(`Digest realm="${REALM}", nonce="${nonce}", qop="auth", algorithm=MD5`, 'INVITE', 'sip:1234@sipgw.example.net', 'trunk1', 's3cret-Trunk'));
    expect(server.verifyAuthorization(downgraded, lookup, REALM)).toEqual({ ok: false, reason: 'stale' });
  });

  it('rejects credentials for another Request-URI', () => {
    const server = new DigestServer();
    const { header } = server.createChallenge(REALM, 'SHA-256');
    const request = invite(computeAuthorization(header, 'INVITE', 'sip:9999@sipgw.example.net', 'trunk1', 's3cret-Trunk'));
    expect(server.verifyAuthorization(request, lookup, REALM)).toEqual({ ok: false, reason: 'bad-response' });
  });

  it.each([
    `Digest username="trunk1", realm="${REALM}", nonce="n", uri="sip:1234@sipgw.example.net"`,
    `Digest username="trunk1", realm="${REALM}", nonce="n", uri="sip:1234@sipgw.example.net", response="00", algorithm=SHA-1`,
    `Digest username="trunk1", realm="${REALM}", nonce="n", uri="sip:1234@sipgw.example.net", response="00", qop=auth`,
    `Digest username="trunk1", realm="${REALM}", nonce="n", uri="sip:1234@sipgw.example.net", response="00", algorithm=MD5-sess`,
    `Digest username="trunk1", realm="${REALM}", realm="${REALM}", nonce="n", uri="sip:1234@sipgw.example.net", response="00"`,
    `Digest username="trunk1, realm="${REALM}"`,
  ])('calls %s malformed', (authorization) => {
    expect(new DigestServer().verifyAuthorization(invite(authorization), lookup, REALM)).toEqual({ ok: false, reason: 'malformed' });
  });
});
