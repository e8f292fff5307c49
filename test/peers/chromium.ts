// Driver for Chromium (Debian's chromium, headless) through playwright-core: browser participants of a meeting,
// each a page of the gateway's web client, with fake camera and microphone.
//
// Facts found on this machine (Chromium 156, playwright-core 1.65):
// - playwright's launch() refuses a --user-data-dir argument; launchPersistentContext(dir) is the way to give
//   the browser a fresh profile of our own. All pages of that context share one browser process and one fake
//   microphone, so one launch per fake audio file.
// - The fake microphone loops the --use-file-for-fake-audio-capture WAV (16-bit PCM). Without that flag it
//   plays Chromium's periodic beep (its dominant frequency measured about 400 Hz), so give tone tests a file.
// - A WebAudio MediaStreamSource on a remote track hears it whether or not a media element plays it.
// - Reads go through the client's stable DOM hooks and its window.sipgw debug object. The functions handed to
//   page.evaluate run in the page as source text: no named inner functions there (tsx's keepNames would wrap
//   them in a helper the page does not have).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { encodeWav, sine } from './wav.js';

export const CHROMIUM_PATH = '/usr/bin/chromium';

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
  // Without it Chromium offers no 127.0.0.1 candidates.
  '--allow-loopback-in-peer-connection',
  '--disable-features=WebRtcHideLocalIpsWithMdns',
  '--autoplay-policy=no-user-gesture-required',
];

export interface RosterRow {
  id: string;
  name: string;
  origin: string;
  description: string;
  encrypted: boolean;
}

export interface Notice {
  event: 'joined' | 'left';
  /** The gateway's text as shown, e.g. "Bob joined" or "Carol joined by phone — this leg is not encrypted". */
  text: string;
  /** The notice is marked as a warning about an unencrypted leg (only arrivals are). */
  unencrypted: boolean;
}

export interface InboundStats {
  packetsReceived: number;
  totalAudioEnergy?: number;
  framesDecoded?: number;
  /** The codec's MIME type, e.g. "audio/opus" or "video/H264". */
  codec?: string;
}

export interface OutboundStats {
  packetsSent: number;
  pliCount?: number;
  keyFramesEncoded?: number;
  framesEncoded?: number;
  /** The codec's MIME type, e.g. "audio/opus" or "video/VP8". */
  codec?: string;
}

export interface BrowserParticipant {
  readonly page: Page;
  roster(): Promise<RosterRow[]>;
  participantCount(): Promise<number>;
  notices(): Promise<Notice[]>;
  bannerVisible(): Promise<boolean>;
  /** inbound-rtp stats of the audio/video received from one remote participant (by participant id, via window.sipgw + mid) */
  inboundStats(participantId: string, kind: 'audio' | 'video'): Promise<InboundStats | undefined>;
  outboundStats(kind: 'audio' | 'video'): Promise<OutboundStats | undefined>;
  /**
   * Runs a WebAudio AnalyserNode on that participant's remote audio track for `ms` (default 1000) and returns the
   * dominant frequency in Hz (and its level in dBFS, -Infinity for silence) — e.g. to find a 440 Hz tone.
   */
  dominantFrequency(participantId: string, ms?: number): Promise<{ hz: number; db: number }>;
  /** Clicks Leave and waits for the join form; the page stays open until the browser closes. */
  leave(): Promise<void>;
}

export interface JoinOptions {
  /** Typed into the PIN field; left empty when absent. */
  readonly pin?: string;
}

export interface ChromiumBrowser {
  /** Opens a new page (a new participant) on `url`, joins `meetingId` as `name`, and waits until it is joined. */
  join(url: string, meetingId: string, name: string, options?: JoinOptions): Promise<BrowserParticipant>;
  /**
   * Opens a new page and tries to join as join() does, expecting the gateway to refuse: resolves to the error the
   * page shows once it gave up (e.g. "There is no meeting with this ID, or the PIN is wrong."); rejects if it joined.
   */
  joinRefused(url: string, meetingId: string, name: string, options?: JoinOptions): Promise<string>;
  close(): Promise<void>;
}

export interface ChromiumOptions {
  /** WAV file the fake microphone plays (in a loop), e.g. from writeToneWav(). */
  readonly fakeAudioFile?: string;
}

const JOIN_TIMEOUT_MS = 15_000;

const REFUSED = 'error: ';

interface JoinAttempt {
  readonly page: Page;
  /** "joined", "error: <the error line>" or "timed out: <why>". */
  readonly outcome: string;
  /** Who tried what and how it ended, with any page errors: for failure messages. */
  readonly describe: string;
}

/** The web client's debug object (gateway/http/client/app.js). */
interface SipgwWindow {
  readonly sipgw: {
    readonly pc: RTCPeerConnection | undefined;
    readonly remoteStreams: Map<string, MediaStream>;
  };
}

/**
 * Writes a 16-bit PCM, 48 kHz mono WAV of a `hz` sine for the fake microphone and returns its path. With whole
 * seconds and a whole-number frequency the loop has no seam.
 */
export function writeToneWav(path: string, hz: number, seconds = 5): string {
  const sampleRate = 48_000;
  writeFileSync(path, encodeWav(sine(hz, seconds, sampleRate), sampleRate));
  return path;
}

export async function launchChromium(options: ChromiumOptions = {}): Promise<ChromiumBrowser> {
  const profile = mkdtempSync(join(tmpdir(), 'sipgw-chromium-'));
  const args = [...CHROMIUM_ARGS];
  if (options.fakeAudioFile !== undefined) args.push(`--use-file-for-fake-audio-capture=${options.fakeAudioFile}`);
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM_PATH, args });
  } catch (error) {
    rmSync(profile, { recursive: true, force: true });
    throw error;
  }
  /** Fills the join form on a new page, submits it, and waits until the page joined or gave up. */
  async function attemptJoin(url: string, meetingId: string, name: string, options: JoinOptions): Promise<JoinAttempt> {
    const page = await context.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(url);
    await page.fill('#meeting-id', meetingId);
    await page.fill('#display-name', name);
    if (options.pin !== undefined) await page.fill('#pin', options.pin);
    await page.click('#join-button');
    // Done when the own roster entry shows, or failed when the client gave up (the Join button is usable again)
    // with an error line; an error line alone may be a warning, such as a missing camera.
    const outcome = await page
      .waitForFunction(
        () => {
          if (document.querySelector('#roster li[data-self="true"]')) return 'joined';
          const error = document.querySelector<HTMLElement>('#error');
          const joinButton = document.querySelector<HTMLButtonElement>('#join-button');
          return error && !error.hidden && joinButton && !joinButton.disabled ? `error: ${error.textContent ?? ''}` : undefined;
        },
        undefined,
        { timeout: JOIN_TIMEOUT_MS },
      )
      .then((handle) => handle.jsonValue())
      .catch((error: Error) => `timed out: ${error.message.split('\n')[0] ?? ''}`);
    const errors = pageErrors.length > 0 ? `; page errors: ${pageErrors.join(' | ')}` : '';
    return { page, outcome: outcome ?? '', describe: `${name} at ${url}, meeting ${meetingId}: ${outcome}${errors}` };
  }

  return {
    async join(url, meetingId, name, options = {}) {
      const { page, outcome, describe } = await attemptJoin(url, meetingId, name, options);
      if (outcome !== 'joined') throw new Error(`could not join: ${describe}`);
      return participant(page);
    },
    async joinRefused(url, meetingId, name, options = {}) {
      const { outcome, describe } = await attemptJoin(url, meetingId, name, options);
      if (!outcome.startsWith(REFUSED)) throw new Error(`expected a refused join: ${describe}`);
      return outcome.slice(REFUSED.length);
    },
    async close() {
      try {
        await context.close();
      } finally {
        rmSync(profile, { recursive: true, force: true });
      }
    },
  };
}

function participant(page: Page): BrowserParticipant {
  return {
    page,
    roster: () =>
      page.$$eval('#roster li', (items) =>
        items.map((li) => ({
          id: (li as HTMLElement).dataset.participantId ?? '',
          name: li.querySelector('.name')?.textContent ?? '',
          origin: (li as HTMLElement).dataset.origin ?? '',
          description: li.querySelector('.description')?.textContent ?? '',
          encrypted: (li as HTMLElement).dataset.encrypted === 'true',
        })),
      ),
    participantCount: async () => Number(await page.textContent('#participant-count')),
    notices: () =>
      page.$$eval('#notices li', (items) =>
        items.map((li) => ({
          event: (li as HTMLElement).dataset.event as 'joined' | 'left',
          text: (li.querySelector('.text')?.textContent ?? '').replace(/\s+/g, ' ').trim(),
          unencrypted: (li as HTMLElement).dataset.unencrypted === 'true',
        })),
      ),
    bannerVisible: () => page.isVisible('#unencrypted-banner'),
    inboundStats: (participantId, kind) =>
      page.evaluate(
        async ({ participantId, kind }) => {
          const { pc, remoteStreams } = (window as unknown as SipgwWindow).sipgw;
          const track = remoteStreams.get(participantId)?.getTracks().find((t) => t.kind === kind);
          const receiver = pc?.getTransceivers().find((t) => t.mid !== null && t.receiver.track === track)?.receiver;
          if (!pc || !track || !receiver) return undefined;
          const reports = [...(await receiver.getStats()).values()];
          const inbound = reports.find((r) => r.type === 'inbound-rtp');
          if (!inbound) return undefined;
          return {
            packetsReceived: inbound.packetsReceived ?? 0,
            totalAudioEnergy: inbound.totalAudioEnergy,
            framesDecoded: inbound.framesDecoded,
            codec: reports.find((r) => r.id === inbound.codecId)?.mimeType,
          };
        },
        { participantId, kind },
      ),
    outboundStats: (kind) =>
      page.evaluate(async (kind) => {
        const sender = (window as unknown as SipgwWindow).sipgw.pc?.getSenders().find((s) => s.track?.kind === kind);
        if (!sender) return undefined;
        const reports = [...(await sender.getStats()).values()];
        const outbound = reports.find((r) => r.type === 'outbound-rtp');
        if (!outbound) return undefined;
        return {
          packetsSent: outbound.packetsSent ?? 0,
          pliCount: outbound.pliCount,
          keyFramesEncoded: outbound.keyFramesEncoded,
          framesEncoded: outbound.framesEncoded,
          codec: reports.find((r) => r.id === outbound.codecId)?.mimeType,
        };
      }, kind),
    dominantFrequency: (participantId, ms = 1000) =>
      page.evaluate(
        async ({ participantId, ms }) => {
          const track = (window as unknown as SipgwWindow).sipgw.remoteStreams.get(participantId)?.getAudioTracks()[0];
          if (!track) throw new Error(`no remote audio track for participant ${participantId}`);
          const context = new AudioContext();
          try {
            await context.resume();
            const analyser = context.createAnalyser();
            analyser.fftSize = 16384;
            analyser.smoothingTimeConstant = 0;
            context.createMediaStreamSource(new MediaStream([track])).connect(analyser);
            // A silent path to the output keeps the graph pulled in every browser.
            const sink = context.createGain();
            sink.gain.value = 0;
            analyser.connect(sink).connect(context.destination);
            const frame = new Float32Array(analyser.frequencyBinCount);
            const power = new Float64Array(analyser.frequencyBinCount);
            const frameMs = (analyser.fftSize / context.sampleRate) * 1000;
            let frames = 0;
            for (let elapsed = 0; elapsed < ms || frames === 0; elapsed += frameMs) {
              await new Promise((resolve) => setTimeout(resolve, frameMs));
              analyser.getFloatFrequencyData(frame);
              frame.forEach((db, bin) => (power[bin] = (power[bin] ?? 0) + 10 ** (db / 10)));
              frames++;
            }
            // Bin 0 is DC, never a tone.
            let peak = 1;
            for (let bin = 2; bin < power.length; bin++) if ((power[bin] ?? 0) > (power[peak] ?? 0)) peak = bin;
            // A parabola through the peak and its neighbours (in dB) places the tone between bins.
            const [left = -Infinity, centre = -Infinity, right = -Infinity] = [peak - 1, peak, peak + 1].map(
              (bin) => 10 * Math.log10((power[bin] ?? 0) / frames),
            );
            const curvature = left - 2 * centre + right;
            const offset = Number.isFinite(curvature) && curvature < 0 ? (0.5 * (left - right)) / curvature : 0;
            return { hz: ((peak + offset) * context.sampleRate) / analyser.fftSize, db: centre };
          } finally {
            await context.close();
          }
        },
        { participantId, ms },
      ),
    async leave() {
      await page.click('#leave-button');
      await page.waitForSelector('#join-form', { state: 'visible' });
    },
  };
}
