import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Audio, cleanup, PeerConnection, type Track } from 'node-datachannel';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { OutgoingTrack } from '../../gateway/fabric/index.js';
import type { PeerReception } from '../../gateway/media/index.js';
import { buildReceptionReport, type ReportBlock } from '../../gateway/media/rtcp/index.js';
import { BrowserPeer, type OfferMessage } from '../../gateway/webrtc/browser-peer.js';
import { until } from '../support/until.js';

const OPUS = 111;
const G722 = 9;

interface Observed {
  packetsIn: number[];
  packetsOut: number[];
  reports: PeerReception[];
}

function rtp(payloadType: number, sequence: number, ssrc: number, payloadBytes: number): Buffer {
  const packet = Buffer.alloc(12 + payloadBytes, 0x5a);
  packet[0] = 0x80;
  packet[1] = payloadType;
  packet.writeUInt16BE(sequence, 2);
  packet.writeUInt32BE(sequence * 160, 4);
  packet.writeUInt32BE(ssrc, 8);
  return packet;
}

function block(ssrc: number, fractionLost: number, jitter: number): ReportBlock {
  return { ssrc, fractionLost, cumulativeLost: 3, highestSequence: 1000, jitter, lastSenderReport: 0, delaySinceLastSenderReport: 0 };
}

/**
 * A browser as far as the media goes: a node-datachannel peer answering the gateway's offers, sending
 * on its audio uplink and receiving the downlink tracks, on which it sends its RTCP reports.
 */
class FakeBrowser {
  readonly pc = new PeerConnection('browser', { iceServers: [], bindAddress: '127.0.0.1' });
  readonly ssrc = randomBytes(4).readUInt32BE(0);
  /** What the browser's RTCP reports name as their sender: an SSRC its answer never announced, as Chromium does. */
  readonly reportSsrc = randomBytes(4).readUInt32BE(0);
  uplink: Track | undefined;
  readonly downlinks = new Map<string, Track>();
  readonly received: number[] = [];

  constructor() {
    this.pc.onTrack((track) => {
      this.downlinks.set(track.mid(), track);
      track.onMessage((packet) => {
        if (packet.length >= 12 && !(packet[1]! >= 192 && packet[1]! <= 223)) this.received.push(packet.length);
      });
    });
  }

  /** The answer to the gateway's first offer, once every candidate is gathered. */
  answer(offer: OfferMessage): Promise<string> {
    const audio = new Audio(offer.uplink.audio, 'SendOnly');
    audio.addOpusCodec(OPUS, 'minptime=10;useinbandfec=1');
    audio.addSSRC(this.ssrc, 'browser', 'stream-browser', 'audio-browser');
    this.uplink = this.pc.addTrack(audio);
    return new Promise((resolve) => {
      const answer = () => resolve(this.pc.localDescription()!.sdp);
      this.pc.onGatheringStateChange((state) => {
        if (state === 'complete') answer();
      });
      this.pc.setRemoteDescription(offer.sdp, 'offer');
      if (this.pc.gatheringState() === 'complete') answer();
    });
  }

  close(): void {
    this.pc.close();
  }
}

describe('a browser peer counts its RTP and reads the browser\'s receiver reports (real node-datachannel peer over loopback)', () => {
  let observed: Observed;
  let peer: BrowserPeer;
  let browser: FakeBrowser;
  let downlink: OutgoingTrack;

  beforeEach(async () => {
    observed = { packetsIn: [], packetsOut: [], reports: [] };
    browser = new FakeBrowser();
    let answered: Promise<void> | undefined;
    const offered = new Promise<void>((resolve) => {
      peer = new BrowserPeer({
        bindAddress: '127.0.0.1',
        sendOffer: (offer) => {
          answered ??= browser.answer(offer).then((sdp) => peer.answer(sdp));
          resolve();
        },
        onFailed: () => {},
        events: {
          packetIn: (bytes) => observed.packetsIn.push(bytes),
          packetOut: (bytes) => observed.packetsOut.push(bytes),
          report: (reception) => observed.reports.push(reception),
        },
      });
    });
    downlink = peer.openTrack({ participantId: 'room', kind: 'audio' })!;
    peer.start();
    await offered;
    await answered;
    // The peer counts nothing before the browser's certificate is checked: send until the first packet counts.
    let sequence = 0;
    await until(
      async () => {
        if (browser.uplink?.isOpen()) browser.uplink.sendMessageBinary(rtp(OPUS, sequence++, browser.ssrc, 80));
        return observed.packetsIn.length;
      },
      (count) => count > 0,
      10_000,
    );
    expect(observed.packetsIn.length).toBeGreaterThan(0);
    // Warm-up packets still on their way are not the tests' to count.
    await sleep(250);
    observed.packetsIn.length = 0;
  });

  afterEach(() => {
    peer.close();
    browser.close();
  });

  afterAll(() => cleanup());

  it('counts each RTP packet the browser sends, by its RTP size', async () => {
    const sizes = [52, 92, 172, 1012];
    sizes.forEach((size, i) => browser.uplink!.sendMessageBinary(rtp(OPUS, 100 + i, browser.ssrc, size - 12)));
    const counted = await until(async () => observed.packetsIn, (counts) => counts.length >= sizes.length, 5_000);
    expect(counted).toEqual(sizes);
  });

  it('counts each RTP packet it sends to the browser, by its RTP size, as the browser receives them', async () => {
    const sizes = [72, 112, 1212];
    sizes.forEach((size, i) => downlink.send(rtp(G722, i, downlink.ssrc, size - 12)));
    expect(await until(async () => browser.received, (received) => received.length >= sizes.length, 5_000)).toEqual(sizes);
    expect(observed.packetsOut).toEqual(sizes);
  });

  it('reports loss and jitter from the browser\'s report blocks about the downlink stream, in the clock of the codec last sent', async () => {
    const track = browser.downlinks.get('a1')!;
    downlink.send(rtp(G722, 1, downlink.ssrc, 160));
    await until(async () => browser.received.length, (count) => count > 0, 5_000);
    // One block about another stream, one about ours. G.722's RTP clock runs at 8000 Hz: 800 units are 0.1 s.
    const blocks = [block(downlink.ssrc ^ 1, 128, 4000), block(downlink.ssrc, 64, 800)];
    track.sendMessageBinary(buildReceptionReport({ ssrc: browser.reportSsrc, cname: 'browser', blocks }));
    expect(await until(async () => observed.reports, (reports) => reports.length >= 1, 5_000)).toEqual([{ lossRatio: 0.25, jitterS: 0.1 }]);

    // Opus' clock runs at 48000 Hz: the same 800 units are a sixth as long.
    downlink.send(rtp(OPUS, 2, downlink.ssrc, 80));
    await until(async () => browser.received.length, (count) => count > 1, 5_000);
    track.sendMessageBinary(buildReceptionReport({ ssrc: browser.reportSsrc, cname: 'browser', blocks: [block(downlink.ssrc, 0, 800)] }));
    const reports = await until(async () => observed.reports, (all) => all.length >= 2, 5_000);
    expect(reports).toHaveLength(2);
    expect(reports[1]!.lossRatio).toBe(0);
    expect(reports[1]!.jitterS).toBeCloseTo(800 / 48000, 9);
    expect(reports[1]!.roundTripS).toBeUndefined();
  });
});
