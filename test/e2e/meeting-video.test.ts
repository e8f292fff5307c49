import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGatewayProcess, type GatewayProcess } from '../interop/gateway-process.js';
import { requirePeer } from '../peers/availability.js';
import type { Baresip } from '../peers/baresip.js';
import { launchChromium, writeToneWav, type BrowserParticipant, type ChromiumBrowser } from '../peers/chromium.js';
import { findFreePortBlock } from '../peers/process.js';
import { runSipp } from '../peers/sipp.js';
import { dialInRoomSystem } from './room-system.js';
import { startSocatTlsHop } from '../peers/tls-hop.js';

const peer = requirePeer('baresip', 'openssl', 'sipp', 'socat', '/usr/bin/chromium');

/** What baresip's `video_debug` says about the video it received and decoded. */
function receivedVideo(debug: string): { width: number; height: number; frames: number } {
  const match = /vidisp: \S+ (\d+) x (\d+) frames=(\d+)/.exec(debug);
  return match ? { width: Number(match[1]), height: Number(match[2]), frames: Number(match[3]) } : { width: 0, height: 0, frames: 0 };
}

describe.skipIf(peer.skip)('H.264 video between a room system (baresip with avcodec) and a browser', () => {
  let gateway: GatewayProcess;
  let dir: string;
  let browser: ChromiumBrowser;
  let room: Baresip;
  let alice: BrowserParticipant;

  beforeAll(async () => {
    gateway = await startGatewayProcess();
    dir = mkdtempSync(join(tmpdir(), 'sipgw-video-'));
    // Alice speaks (a steady tone) so that she is the active speaker the room systems see.
    browser = await launchChromium({ fakeAudioFile: writeToneWav(join(dir, 'a880.wav'), 880) });
    alice = await browser.join(`http://127.0.0.1:${gateway.ports.http}/`, 'demo', 'Alice');
    room = await dialInRoomSystem(gateway, dir, 'demo', { video: true });
    // The room system's own tone would make it the speaker: its microphone is muted.
    await room.command('mute');
  });

  afterAll(async () => {
    await room?.stop();
    await browser?.close();
    await gateway?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("decodes the room system's H.264 in the browser", async () => {
    const roomId = (await alice.roster()).find((r) => r.origin === 'sip')!.id;
    await sleep(3_000);
    const first = await alice.inboundStats(roomId, 'video');
    await sleep(2_000);
    const later = await alice.inboundStats(roomId, 'video');
    expect(later?.codec).toBe('video/H264');
    expect(later!.framesDecoded!).toBeGreaterThan(first?.framesDecoded ?? 0);
  });

  it("sends the room system the active speaker's H.264, which it decodes", async () => {
    const first = receivedVideo(await room.command('video_debug'));
    await sleep(2_000);
    const later = receivedVideo(await room.command('video_debug'));
    // Chromium's fake camera is 640x480.
    expect(later).toMatchObject({ width: 640, height: 480 });
    expect(later.frames).toBeGreaterThan(first.frames);
    expect(await gateway.metric('sipgw_media_packets_forwarded_total', { kind: 'video' })).toBeGreaterThan(0);
  });

  it("turns a second room system's SIP INFO picture_fast_update into a keyframe request to the browser speaking", async () => {
    const base = findFreePortBlock(10);
    const hop = await startSocatTlsHop({ listenTcpPort: base, targetTlsPort: gateway.ports.sip.tls, caFile: gateway.caFile });
    try {
      const call = runSipp({
        scenario: 'uac-video-fast-update',
        target: `127.0.0.1:${base}`,
        transport: 't1',
        localPort: base + 1,
        controlPort: base + 2,
        mediaPort: base + 4,
        calls: 1,
        service: 'demo',
        timeoutS: 30,
      });
      // Joining makes the gateway ask Alice for a keyframe once; the INFO comes 3 s later.
      await sleep(1_800);
      const beforeInfo = (await alice.outboundStats('video'))?.pliCount ?? 0;
      const result = await call;
      expect(result.successful, result.stdout + result.stderr).toBe(1);
      const afterInfo = (await alice.outboundStats('video'))?.pliCount ?? 0;
      expect(afterInfo).toBeGreaterThan(beforeInfo);
    } finally {
      await hop.stop();
    }
  });
});
