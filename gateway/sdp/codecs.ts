/** Payload formats of an m-line and the choice of one we both support. */

/** A codec we can handle, as the caller lists it in preference order. */
export interface CodecSpec {
  name: string;
  clockRate: number;
  /** Audio channels; 1 when not given. */
  channels?: number;
  /** H.264 only: the RFC 6184 packetization-mode required (absent in the fmtp means 0). */
  packetizationMode?: '0' | '1';
}

/** A codec bound to a payload type on one m-line. */
export interface Codec {
  payloadType: number;
  name: string;
  clockRate: number;
  channels: number;
  /** The `a=fmtp` parameters, verbatim. */
  fmtp?: string;
}

// RFC 3551 §6 static assignments usable without a=rtpmap.
const STATIC_PAYLOAD_TYPES: ReadonlyMap<number, { name: string; clockRate: number }> = new Map([
  [0, { name: 'PCMU', clockRate: 8000 }],
  [3, { name: 'GSM', clockRate: 8000 }],
  [4, { name: 'G723', clockRate: 8000 }],
  [8, { name: 'PCMA', clockRate: 8000 }],
  [9, { name: 'G722', clockRate: 8000 }],
  [13, { name: 'CN', clockRate: 8000 }],
  [18, { name: 'G729', clockRate: 8000 }],
  [34, { name: 'H263', clockRate: 90000 }],
]);

interface RtpMap {
  payload: number;
  codec: string;
  rate?: number;
  encoding?: number;
}

/** The codecs an m-line offers, in the offerer's order; unknown dynamic types are skipped. */
export function offeredCodecs(
  formats: readonly string[],
  rtpmaps: readonly RtpMap[],
  fmtps: readonly { payload: number; config: string }[],
): Codec[] {
  const codecs: Codec[] = [];
  for (const format of formats) {
    if (!/^\d{1,3}$/.test(format)) continue;
    const payloadType = Number(format);
    if (payloadType > 127) continue;
    const mapped = rtpmaps.find((r) => r.payload === payloadType);
    const known = mapped ? { name: String(mapped.codec), clockRate: mapped.rate, channels: mapped.encoding } : STATIC_PAYLOAD_TYPES.get(payloadType);
    if (!known?.clockRate) continue;
    const channels = mapped?.encoding;
    const codec: Codec = { payloadType, name: known.name, clockRate: known.clockRate, channels: channels && channels > 0 ? channels : 1 };
    const fmtp = fmtps.find((f) => f.payload === payloadType);
    // sdp-transform turns an all-digit value (a=fmtp:101 15) into a number.
    if (fmtp) codec.fmtp = String(fmtp.config);
    codecs.push(codec);
  }
  return codecs;
}

function matches(codec: Codec, spec: CodecSpec): boolean {
  return (
    codec.name.toLowerCase() === spec.name.toLowerCase() &&
    codec.clockRate === spec.clockRate &&
    codec.channels === (spec.channels ?? 1) &&
    (spec.packetizationMode === undefined || (fmtpParams(codec.fmtp).get('packetization-mode') ?? '0') === spec.packetizationMode)
  );
}

function fmtpParams(fmtp: string | undefined): Map<string, string> {
  const params = new Map<string, string>();
  for (const part of (fmtp ?? '').split(';')) {
    const [name, value = ''] = part.split('=');
    if (name?.trim()) params.set(name.trim().toLowerCase(), value.trim());
  }
  return params;
}

// RFC 6184: modes 0 (single NAL) and 1 (non-interleaved) need no reordering on our side.
function isUsableH264(codec: Codec): boolean {
  const mode = fmtpParams(codec.fmtp).get('packetization-mode') ?? '0';
  return mode === '0' || mode === '1';
}

// The answer's H.264 fmtp describes what we receive: echo the profile and mode, never the
// offerer's own sprop-parameter-sets or bitrate limits.
const H264_ECHOED_PARAMS = ['profile-level-id', 'packetization-mode', 'level-asymmetry-allowed'];

function answerFmtp(codec: Codec): string | undefined {
  if (codec.name.toLowerCase() !== 'h264') return codec.fmtp;
  const params = fmtpParams(codec.fmtp);
  const echoed = H264_ECHOED_PARAMS.filter((p) => params.has(p)).map((p) => `${p}=${params.get(p)}`);
  return echoed.length > 0 ? echoed.join(';') : undefined;
}

function forAnswer(codec: Codec): Codec {
  const { fmtp: _offered, ...rest } = codec;
  const fmtp = answerFmtp(codec);
  return fmtp === undefined ? rest : { ...rest, fmtp };
}

/** The first codec in OUR preference order that the peer offered, as we answer it. */
export function chooseCodec(offered: readonly Codec[], supported: readonly CodecSpec[]): Codec | undefined {
  for (const spec of supported) {
    const codec = offered.find((c) => matches(c, spec) && (c.name.toLowerCase() !== 'h264' || isUsableH264(c)));
    if (codec) return forAnswer(codec);
  }
  return undefined;
}

/** RFC 4733 events: the offered telephone-event whose clock matches the chosen codec, else the first. */
export function chooseTelephoneEvent(offered: readonly Codec[], codec: Codec): Codec | undefined {
  const events = offered.filter((c) => c.name.toLowerCase() === 'telephone-event');
  return events.find((e) => e.clockRate === codec.clockRate) ?? events[0];
}
