import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { requirePeer } from '../peers/availability.js';
import { startBaresip, takeNetstrings, type Baresip, type BaresipOptions } from '../peers/baresip.js';
import { makeSelfSignedCertificate } from '../peers/openssl-cert.js';
import { findFreePortBlock } from '../peers/process.js';
import { dominantToneCheck, readWav } from '../peers/wav.js';

describe('baresip ctrl_tcp framing', () => {
  it('splits netstrings and keeps a partial one for later', () => {
    const { messages, rest } = takeNetstrings(Buffer.from('2:{},10:{"a":"bc"},5:{"b"'));
    expect(messages).toEqual(['{}', '{"a":"bc"}']);
    expect(rest.toString()).toBe('5:{"b"');
  });
});

const peers = requirePeer('baresip', 'openssl');

describe.skipIf(peers.skip)('baresip calls baresip over SIP-TLS', () => {
  const started: Baresip[] = [];
  let certDir: string | undefined;

  afterEach(async (context) => {
    const keepLogs = context.task.result?.state === 'fail';
    await Promise.all(started.splice(0).map((instance) => instance.stop({ keepLogs })));
    if (certDir) rmSync(certDir, { recursive: true, force: true });
    certDir = undefined;
  });

  async function pair(a: Partial<BaresipOptions>, b: Partial<BaresipOptions>): Promise<[Baresip, Baresip]> {
    certDir = mkdtempSync(join(tmpdir(), 'sipgw-peers-certs-'));
    const base = findFreePortBlock(50);
    const instance = async (index: number, overrides: Partial<BaresipOptions>, name: string): Promise<Baresip> => {
      const offset = base + index * 25;
      const baresip = await startBaresip({
        name,
        sipPort: offset,
        ctrlPort: offset + 2,
        rtpPorts: [offset + 4, offset + 24],
        certificate: makeSelfSignedCertificate(certDir!, name).combinedPath,
        ...overrides,
      });
      started.push(baresip);
      return baresip;
    };
    return [await instance(0, a, 'alice'), await instance(1, b, 'bob')];
  }

  it('establishes an SDES-SRTP call and carries the 440 Hz tone', async () => {
    const [alice, bob] = await pair({ mediaenc: 'srtp-mand', toneHz: 440 }, { mediaenc: 'srtp-mand', answerMode: 'auto', toneHz: 440 });
    await alice.dial(bob.tlsUri);
    const established = await alice.waitForEvent('CALL_ESTABLISHED', 10_000);
    expect(established.direction).toBe('outgoing');
    expect((await alice.waitForEvent('CALL_MENC', 1000)).param).toBe('0,audio,AES_CM_128_HMAC_SHA1_80');
    await bob.waitForEvent('CALL_ESTABLISHED', 5000);
    await sleep(3500);
    await alice.hangup();
    expect((await alice.waitForEvent('CALL_CLOSED', 5000)).param).toBe('Connection reset by user');
    await bob.waitForEvent('CALL_CLOSED', 5000);

    for (const side of [alice, bob]) {
      const [wavPath] = side.decodedWavFiles();
      expect(wavPath).toBeDefined();
      const wav = readWav(wavPath!);
      expect(wav.sampleRate).toBe(8000);
      expect(dominantToneCheck(wav.samples, wav.sampleRate, 440).longestRunSeconds).toBeGreaterThanOrEqual(2);
    }
  });

  it('reports the SIP status of a refused call: 488 when SRTP is mandatory and the callee has none', async () => {
    const [alice, bob] = await pair({ mediaenc: 'srtp-mand' }, { answerMode: 'auto' });
    await alice.dial(bob.tlsUri);
    expect((await alice.waitForEvent('CALL_CLOSED', 10_000)).param).toBe('488 Not Acceptable Here');
    expect(alice.events.some((event) => event.type === 'CALL_ESTABLISHED')).toBe(false);
  });
});
