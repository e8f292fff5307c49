import { Decoder, Encoder } from '@evan/opus';

/** 20 ms at 48 kHz: the frame the encoder takes and the silence a bad packet decodes to. */
export const OPUS_FRAME_SAMPLES = 960;

/**
 * Opus through @evan/opus at 48 kHz mono. A stereo stream (opus/48000/2 is how SDP always names
 * Opus) decodes to mono in libopus itself, so one class serves both.
 */
export class OpusEncoder {
  readonly #encoder = new Encoder({ channels: 1, sample_rate: 48000, application: 'voip' });

  /** One frame of 2.5–60 ms (960 samples for 20 ms); other lengths are a programming error and throw. */
  encode(pcm: Int16Array): Buffer {
    const packet = this.#encoder.encode(pcm);
    return Buffer.from(packet.buffer, packet.byteOffset, packet.byteLength);
  }
}

export class OpusDecoder {
  readonly #decoder = new Decoder({ channels: 1, sample_rate: 48000 });
  #errors = 0;

  /** Packets libopus refused; each decoded to one frame of silence. */
  get errors(): number {
    return this.#errors;
  }

  /** The packet's samples (960 for a 20 ms packet); one frame of silence for anything libopus refuses. */
  decode(payload: Uint8Array): Int16Array {
    let bytes: Uint8Array;
    try {
      bytes = this.#decoder.decode(payload);
    } catch {
      this.#errors++;
      return new Int16Array(OPUS_FRAME_SAMPLES);
    }
    // The binding returns a fresh copy (offset 0) of little-endian samples, as every platform
    // Node runs this on is.
    return new Int16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >> 1);
  }
}
