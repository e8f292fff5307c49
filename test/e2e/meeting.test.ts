import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGatewayProcess, type GatewayProcess } from '../interop/gateway-process.js';
import { requirePeer } from '../peers/availability.js';
import { until } from '../support/until.js';
import { dialInRoomSystem } from './room-system.js';
import type { Baresip } from '../peers/baresip.js';
import { launchChromium, writeToneWav, type BrowserParticipant, type ChromiumBrowser } from '../peers/chromium.js';
import { dominantToneCheck, readWav } from '../peers/wav.js';

const peer = requirePeer('baresip', 'openssl', '/usr/bin/chromium');


describe.skipIf(peer.skip)('a meeting with two browsers and a room system (baresip, SIP-TLS, SRTP)', () => {
  let gateway: GatewayProcess;
  let dir: string;
  let browsers: ChromiumBrowser[] = [];
  let room: Baresip;
  let alice: BrowserParticipant;
  let bob: BrowserParticipant;
  let url: string;

  beforeAll(async () => {
    gateway = await startGatewayProcess();
    dir = mkdtempSync(join(tmpdir(), 'sipgw-meeting-'));
    url = `http://127.0.0.1:${gateway.ports.http}/`;
    const withTone = await launchChromium({ fakeAudioFile: writeToneWav(join(dir, 'a880.wav'), 880) });
    const plain = await launchChromium();
    browsers = [withTone, plain];
    alice = await withTone.join(url, 'demo', 'Alice');
    bob = await plain.join(url, 'demo', 'Bob');
    // Bob listens only: the room system should hear Alice's tone alone in its mix.
    await bob.page.click('#mute-audio');

    room = await dialInRoomSystem(gateway, dir, 'demo', { toneHz: 440 });
  });

  afterAll(async () => {
    await room?.stop();
    for (const browser of browsers) await browser.close();
    await gateway?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('shows all three participants in every browser, the room system with its TLS version and SRTP suite', async () => {
    for (const browser of [alice, bob]) {
      const rows = await until(() => browser.roster(), (r) => r.length === 3);
      expect(rows.map((r) => r.name).sort()).toEqual(['Alice', 'Bob', 'room']);
      const roomRow = rows.find((r) => r.origin === 'sip');
      expect(roomRow?.description).toBe('Room system · SIP over TLS 1.3 · SRTP AES_CM_128_HMAC_SHA1_80');
      expect(roomRow?.encrypted).toBe(true);
      expect(await browser.participantCount()).toBe(3);
      expect(await browser.bannerVisible()).toBe(false);
    }
    expect(await gateway.metric('sipgw_meeting_participants', { origin: 'webrtc' })).toBe(2);
    expect(await gateway.metric('sipgw_meeting_participants', { origin: 'sip' })).toBe(1);
  });

  it("plays the room system's 440 Hz tone in the other browsers", async () => {
    const roomId = (await bob.roster()).find((r) => r.origin === 'sip')!.id;
    const first = await until(() => bob.inboundStats(roomId, 'audio'), (s) => (s?.totalAudioEnergy ?? 0) > 0);
    await sleep(1_000);
    const later = await bob.inboundStats(roomId, 'audio');
    expect(later?.codec).toBe('audio/PCMU');
    expect(later!.totalAudioEnergy!).toBeGreaterThan(first!.totalAudioEnergy!);
    const tone = await bob.dominantFrequency(roomId, 1_500);
    expect(Math.abs(tone.hz - 440)).toBeLessThan(30);
  });

  it("lets the room system hear the browsers through the mixer (Alice's 880 Hz)", async () => {
    await sleep(4_000);
    await room.hangup();
    await room.waitForEvent('CALL_CLOSED', 10_000);
    const [wavFile] = room.decodedWavFiles();
    expect(wavFile, 'baresip wrote the audio it decoded').toBeDefined();
    const wav = readWav(wavFile!);
    const tone = dominantToneCheck(wav.samples, wav.sampleRate, 880);
    expect(tone.longestRunSeconds).toBeGreaterThanOrEqual(2);
    expect(await gateway.metric('sipgw_mixer_frames_total')).toBeGreaterThan(100);
    for (const browser of [alice, bob]) expect(await until(() => browser.participantCount(), (n) => n === 2)).toBe(2);
  });
});
