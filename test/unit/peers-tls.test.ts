import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type Server } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requirePeer } from '../peers/availability.js';
import { makeSelfSignedCertificate } from '../peers/openssl-cert.js';
import { findFreePortBlock } from '../peers/process.js';
import { removeSippDir, runSipp } from '../peers/sipp.js';
import { parseSslscanXml, runSslscan } from '../peers/sslscan.js';
import { startSocatTlsHop } from '../peers/tls-hop.js';

describe('sslscan XML parsing', () => {
  it('reads protocols and ciphers', () => {
    const report = parseSslscanXml(`<document><ssltest host="127.0.0.1" port="5061">
      <protocol type="ssl" version="3" enabled="0" />
      <protocol type="tls" version="1.0" enabled="1" />
      <protocol type="tls" version="1.3" enabled="1" />
      <cipher status="preferred" sslversion="TLSv1.3" bits="128" cipher="TLS_AES_128_GCM_SHA256" id="0x1301" />
      <cipher status="accepted" sslversion="TLSv1.0" bits="256" cipher="ECDHE-RSA-AES256-SHA" id="0xC014" />
    </ssltest></document>`);
    expect(report.protocols).toEqual({ SSLv2: false, SSLv3: false, 'TLSv1.0': true, 'TLSv1.1': false, 'TLSv1.2': false, 'TLSv1.3': true });
    expect(report.ciphers).toEqual([
      { protocol: 'TLSv1.3', name: 'TLS_AES_128_GCM_SHA256', bits: 128, status: 'preferred' },
      { protocol: 'TLSv1.0', name: 'ECDHE-RSA-AES256-SHA', bits: 256, status: 'accepted' },
    ]);
  });
});

const peers = requirePeer('openssl', 'sslscan', 'socat', 'sipp');

// A TLS server with the gateway's default policy (TLS 1.2+, ECDHE + AEAD) that answers any SIP request with 200.
describe.skipIf(peers.skip)('sslscan and the socat TLS hop against a Node TLS server', () => {
  let dir: string;
  let server: Server;
  let port: number;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sipgw-peers-tls-'));
    const cert = makeSelfSignedCertificate(dir, 'server');
    server = createServer({
      key: readFileSync(cert.keyPath),
      cert: readFileSync(cert.certPath),
      minVersion: 'TLSv1.2',
      ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384',
    }, (socket) => {
      socket.on('data', (data: Buffer) => {
        const request = data.toString();
        const copied = request.split('\r\n').filter((line) => /^(Via|From|To|Call-ID|CSeq):/i.test(line));
        socket.write(['SIP/2.0 200 OK', ...copied, 'Content-Length: 0', '', ''].join('\r\n'));
      });
      socket.on('error', () => socket.destroy());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no TCP address');
    port = address.port;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('sslscan reports TLS 1.2 and 1.3 only, with ECDHE AEAD ciphers', async () => {
    const report = await runSslscan(`127.0.0.1:${port}`);
    expect(report.protocols).toEqual({ SSLv2: false, SSLv3: false, 'TLSv1.0': false, 'TLSv1.1': false, 'TLSv1.2': true, 'TLSv1.3': true });
    const tls12 = report.ciphers.filter((cipher) => cipher.protocol === 'TLSv1.2').map((cipher) => cipher.name);
    expect(tls12.sort()).toEqual(['ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-ECDSA-AES256-GCM-SHA384']);
  });

  it('carries sipp over TCP to the TLS server', async () => {
    const base = findFreePortBlock(6);
    const hop = await startSocatTlsHop({ listenTcpPort: base, targetTlsPort: port });
    try {
      const result = await runSipp({
        scenario: 'uac-options',
        target: `127.0.0.1:${base}`,
        transport: 't1',
        localPort: base + 1,
        controlPort: base + 2,
        mediaPort: base + 3,
        calls: 1,
        timeoutS: 10,
      });
      expect(result).toMatchObject({ exitCode: 0, successful: 1 });
      removeSippDir(result);
    } finally {
      await hop.stop();
    }
  });
});
