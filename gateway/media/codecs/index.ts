import { alawDecode, alawEncode, mulawDecode, mulawEncode } from './g711.js';
import { G722Decoder, G722Encoder } from './g722.js';
import { OpusDecoder, OpusEncoder } from './opus.js';

export { alawDecode, alawEncode, mulawDecode, mulawEncode } from './g711.js';
export { G722Decoder, G722Encoder } from './g722.js';
export { OPUS_FRAME_SAMPLES, OpusDecoder, OpusEncoder } from './opus.js';
export { Resampler } from './resampler.js';
export { toneClip } from './tone.js';
export type { ToneSegment } from './tone.js';

export type AudioCodecName = 'PCMU' | 'PCMA' | 'G722' | 'opus';

/**
 * One stream's codec: stateful (G.722 and Opus carry predictor state), so each stream and
 * direction gets its own instance. decode() never throws on what a peer sent.
 */
export interface AudioCodec {
  readonly name: AudioCodecName;
  /** Rate of the PCM this codec decodes to / encodes from: 8000, 16000 or 48000. */
  readonly sampleRate: number;
  /** RTP timestamp units per second (8000 for G.722 per RFC 3551, 48000 for opus). */
  readonly rtpClockRate: number;
  /** Payloads the codec could not decode (each returned one frame of silence); only Opus has any. */
  readonly decodeErrors: number;
  /** Mono PCM at sampleRate. */
  decode(payload: Uint8Array): Int16Array;
  /** Mono PCM at sampleRate, one frame (e.g. 20 ms). */
  encode(pcm: Int16Array): Buffer;
}

export interface AudioCodecSpec {
  /** Encoding name as in an SDP rtpmap, any case. */
  readonly name: string;
  readonly clockRate: number;
  readonly channels?: number;
}

class G711Codec implements AudioCodec {
  readonly sampleRate = 8000;
  readonly rtpClockRate = 8000;
  readonly decodeErrors = 0;
  readonly decode: (payload: Uint8Array) => Int16Array;
  readonly encode: (pcm: Int16Array) => Buffer;

  constructor(readonly name: 'PCMU' | 'PCMA') {
    this.decode = name === 'PCMU' ? mulawDecode : alawDecode;
    this.encode = name === 'PCMU' ? mulawEncode : alawEncode;
  }
}

class G722Codec implements AudioCodec {
  readonly name = 'G722';
  readonly sampleRate = 16000;
  readonly rtpClockRate = 8000;
  readonly decodeErrors = 0;
  readonly #encoder = new G722Encoder();
  readonly #decoder = new G722Decoder();

  decode(payload: Uint8Array): Int16Array {
    return this.#decoder.decode(payload);
  }

  encode(pcm: Int16Array): Buffer {
    return this.#encoder.encode(pcm);
  }
}

class OpusCodec implements AudioCodec {
  readonly name = 'opus';
  readonly sampleRate = 48000;
  readonly rtpClockRate = 48000;
  // Built on first use: a stream that only sends never pays for a decoder, and vice versa.
  #encoder: OpusEncoder | undefined;
  #decoder: OpusDecoder | undefined;

  get decodeErrors(): number {
    return this.#decoder?.errors ?? 0;
  }

  decode(payload: Uint8Array): Int16Array {
    this.#decoder ??= new OpusDecoder();
    return this.#decoder.decode(payload);
  }

  encode(pcm: Int16Array): Buffer {
    this.#encoder ??= new OpusEncoder();
    return this.#encoder.encode(pcm);
  }
}

/**
 * The codec for an SDP rtpmap entry, or undefined when this gateway cannot transcode it.
 * G.722 is announced as G722/8000 (RFC 3551's clock rate) but carries 16 kHz audio; Opus is
 * announced as opus/48000/2 and is handled as mono (the decoder mixes stereo down).
 */
export function createAudioCodec(spec: AudioCodecSpec): AudioCodec | undefined {
  const name = spec.name.toUpperCase();
  const channels = spec.channels ?? 1;
  if (name === 'OPUS') return spec.clockRate === 48000 && (channels === 1 || channels === 2) ? new OpusCodec() : undefined;
  if (spec.clockRate !== 8000 || channels !== 1) return undefined;
  if (name === 'PCMU' || name === 'PCMA') return new G711Codec(name);
  if (name === 'G722') return new G722Codec();
  return undefined;
}
