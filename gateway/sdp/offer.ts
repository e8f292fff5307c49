/** Reading an SDP offer (RFC 4566 syntax via sdp-transform) into the facts the answer needs. */
import { parse, type MediaDescription, type SessionDescription } from 'sdp-transform';
import { offeredCodecs, type Codec } from './codecs.js';
import { parseCryptoAttribute, type OfferedCrypto } from './sdes.js';
import { SdpError } from './sdp-error.js';

export type Direction = 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';

export interface OfferedMedia {
  /** Position of the m-line in the offer; the answer keeps the same order. */
  index: number;
  /** The m-line's media type: audio, video, application, … */
  kind: string;
  /** 0 when the offerer disabled this stream. */
  port: number;
  protocol: string;
  /** The m-line's format list as written. */
  formats: string[];
  codecs: Codec[];
  /** Where the peer receives RTP: media-level c= or else session-level c=. */
  connectionAddress?: string;
  rtcpPort: number;
  rtcpAddress?: string;
  rtcpMux: boolean;
  /** The offered direction (media-level, else session-level, else sendrecv). */
  direction: Direction;
  /** sendonly/inactive, or the old RFC 2543 hold: c= 0.0.0.0 (or ::). */
  onHold: boolean;
  ptime?: number;
  crypto: OfferedCrypto[];
  /** Present when the m-line (or session) carries DTLS-SRTP attributes. */
  dtls?: DtlsAttributes;
}

export interface DtlsAttributes {
  fingerprint?: { hashFunction: string; value: string };
  setup?: string;
}

export interface SessionOffer {
  origin: { username: string; sessionId: string; sessionVersion: number; address: string };
  media: OfferedMedia[];
  /** True when any part of the offer carries a=fingerprint or a=setup. */
  offersDtls: boolean;
}

// SIP bodies are small; this bounds the work a hostile peer can ask for.
const MAX_SDP_BYTES = 64 * 1024;
const MAX_MEDIA_LINES = 32;
const LINE = /^[a-z]=/;
const ORIGIN = /^o=(\S+) (\d{1,20}) (\d{1,20}) IN IP[46] (\S+)\s*$/;
const HOLD_ADDRESSES = new Set(['0.0.0.0', '::']);

/** RFC 2543-style hold: a connection address nobody can send to. */
export function isHoldAddress(address: string | undefined): boolean {
  return address !== undefined && HOLD_ADDRESSES.has(address);
}

function lines(text: string): string[] {
  return text.split(/\r?\n/).filter((l) => l.length > 0);
}

/** What we read from the m= lines ourselves: sdp-transform coerces numeric-looking fields. */
interface MediaLine {
  kind: string;
  port: number;
  protocol: string;
  formats: string[];
  /** Raw `a=crypto` values: sdp-transform keeps only one session parameter. */
  crypto: string[];
}

// The m= shape sdp-transform reads; port/count (RFC 4566 layered encoding) is not used on SIP legs.
const MEDIA_LINE = /^m=(\w+) (\d{1,5}) ([\w/]+)((?: \S+)+)$/;

function readMediaLines(all: readonly string[]): MediaLine[] {
  const media: MediaLine[] = [];
  for (const line of all) {
    if (line.startsWith('m=')) {
      const match = MEDIA_LINE.exec(line);
      const [, kind = '', port = '', protocol = '', formats = ''] = match ?? [];
      if (!match || Number(port) > 65535) throw new SdpError(`malformed m= line ${media.length + 1}`);
      media.push({ kind, port: Number(port), protocol, formats: formats.trim().split(' '), crypto: [] });
    } else if (line.startsWith('a=crypto:')) {
      media.at(-1)?.crypto.push(line.slice('a=crypto:'.length));
    }
  }
  return media;
}

function readLines(text: string): string[] {
  if (text.length > MAX_SDP_BYTES) throw new SdpError(`SDP larger than ${MAX_SDP_BYTES} bytes`);
  const all = lines(text);
  if (all[0] !== 'v=0') throw new SdpError('SDP must start with v=0');
  const bad = all.findIndex((l) => !LINE.test(l));
  if (bad >= 0) throw new SdpError(`SDP line ${bad + 1} is not of the form <type>=<value>`);
  const mediaCount = all.filter((l) => l.startsWith('m=')).length;
  if (mediaCount === 0) throw new SdpError('SDP has no m= line');
  if (mediaCount > MAX_MEDIA_LINES) throw new SdpError(`SDP has more than ${MAX_MEDIA_LINES} m= lines`);
  return all;
}

function dtlsAttributes(line: MediaLine, m: MediaDescription, session: SessionDescription): DtlsAttributes | undefined {
  const fingerprint = m.fingerprint ?? session.fingerprint;
  // On non-RTP lines (BFCP over TCP) a=setup is plain RFC 4145 connection setup, not DTLS.
  const setup = line.protocol.includes('RTP') ? (m.setup ?? session.setup) : undefined;
  if (!fingerprint && !setup) return undefined;
  const dtls: DtlsAttributes = {};
  if (fingerprint) dtls.fingerprint = { hashFunction: String(fingerprint.type), value: String(fingerprint.hash) };
  if (setup) dtls.setup = String(setup);
  return dtls;
}

function toOfferedMedia(line: MediaLine, index: number, m: MediaDescription, session: SessionDescription): OfferedMedia {
  const connection = m.connection?.ip ?? session.connection?.ip;
  const connectionAddress = connection === undefined ? undefined : String(connection);
  const direction = m.direction ?? session.direction ?? 'sendrecv';
  const onHold =
    direction === 'sendonly' || direction === 'inactive' || isHoldAddress(connectionAddress);
  const signalledRtcpPort = m.rtcp?.port;
  if (signalledRtcpPort !== undefined && !(Number.isInteger(signalledRtcpPort) && signalledRtcpPort > 0 && signalledRtcpPort <= 65535)) {
    throw new SdpError(`malformed a=rtcp on m= line ${index + 1}`);
  }
  const media: OfferedMedia = {
    index,
    kind: line.kind,
    port: line.port,
    protocol: line.protocol,
    formats: line.formats,
    codecs: offeredCodecs(line.formats, m.rtp ?? [], m.fmtp ?? []),
    rtcpPort: signalledRtcpPort ?? line.port + 1,
    rtcpMux: m.rtcpMux === 'rtcp-mux',
    direction,
    onHold,
    crypto: line.crypto.map(parseCryptoAttribute).filter((c): c is OfferedCrypto => c !== undefined),
  };
  if (connectionAddress !== undefined) media.connectionAddress = connectionAddress;
  const rtcpAddress = m.rtcp?.address === undefined ? connectionAddress : String(m.rtcp.address);
  if (rtcpAddress !== undefined) media.rtcpAddress = rtcpAddress;
  if (typeof m.ptime === 'number' && m.ptime > 0) media.ptime = m.ptime;
  const dtls = dtlsAttributes(line, m, session);
  if (dtls) media.dtls = dtls;
  return media;
}

/** Parses an SDP offer; throws SdpError when it is not usable SDP. */
export function parseOffer(sdpText: string): SessionOffer {
  const all = readLines(sdpText);
  // Read o= ourselves: sdp-transform turns long numeric session ids into imprecise numbers.
  const origin = ORIGIN.exec(all.find((l) => l.startsWith('o=')) ?? '');
  if (!origin) throw new SdpError('missing or malformed o= line');
  const [, username = '', sessionId = '', sessionVersion = '', address = ''] = origin;
  const mediaLines = readMediaLines(all);
  const session = parse(sdpText);
  const media = mediaLines.map((line, i) => {
    const described = session.media[i];
    if (!described) throw new SdpError(`malformed m= line ${i + 1}`);
    return toOfferedMedia(line, i, described, session);
  });
  return {
    origin: { username, sessionId, sessionVersion: Number(sessionVersion), address },
    media,
    offersDtls: media.some((m) => m.dtls !== undefined),
  };
}
