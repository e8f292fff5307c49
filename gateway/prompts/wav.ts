/** The small part of RIFF/WAVE the prompts need: 16-bit PCM in, 16-bit PCM mono out. */

const WAVE_FORMAT_PCM = 1;
const HEADER_BYTES = 44;

export interface Pcm16Wav {
  readonly sampleRate: number;
  readonly channels: number;
  /** Interleaved when there is more than one channel. */
  readonly samples: Int16Array;
}

/** Throws an Error saying what is wrong when the file is not 16-bit PCM WAVE. */
export function parsePcm16Wav(file: Buffer): Pcm16Wav {
  if (file.length < 12 || file.toString('ascii', 0, 4) !== 'RIFF' || file.toString('ascii', 8, 12) !== 'WAVE') {
    throw new Error('not a RIFF/WAVE file');
  }
  let format: { sampleRate: number; channels: number } | undefined;
  for (let offset = 12; offset + 8 <= file.length; ) {
    const id = file.toString('ascii', offset, offset + 4);
    const size = file.readUInt32LE(offset + 4);
    const body = offset + 8;
    if (id === 'fmt ') {
      if (size < 16 || body + 16 > file.length) throw new Error('WAV fmt chunk truncated');
      const tag = file.readUInt16LE(body);
      const bits = file.readUInt16LE(body + 14);
      if (tag !== WAVE_FORMAT_PCM) throw new Error(`WAV format tag ${tag}, expected ${WAVE_FORMAT_PCM} (PCM)`);
      if (bits !== 16) throw new Error(`WAV samples of ${bits} bits, expected 16`);
      format = { channels: file.readUInt16LE(body + 2), sampleRate: file.readUInt32LE(body + 4) };
    } else if (id === 'data') {
      if (!format) throw new Error('WAV data chunk before the fmt chunk');
      const end = Math.min(file.length, body + size);
      const samples = new Int16Array((end - body) >> 1);
      for (let i = 0; i < samples.length; i++) samples[i] = file.readInt16LE(body + 2 * i);
      return { ...format, samples };
    }
    offset = body + size + (size % 2);
  }
  throw new Error('WAV file has no data chunk');
}

/** A canonical 44-byte-header WAVE file of 16-bit PCM mono. */
export function encodePcm16Wav(samples: Int16Array, sampleRate: number): Buffer {
  const dataBytes = samples.length * 2;
  const file = Buffer.alloc(HEADER_BYTES + dataBytes);
  file.write('RIFF', 0, 'ascii');
  file.writeUInt32LE(HEADER_BYTES - 8 + dataBytes, 4);
  file.write('WAVE', 8, 'ascii');
  file.write('fmt ', 12, 'ascii');
  file.writeUInt32LE(16, 16);
  file.writeUInt16LE(WAVE_FORMAT_PCM, 20);
  file.writeUInt16LE(1, 22);
  file.writeUInt32LE(sampleRate, 24);
  file.writeUInt32LE(sampleRate * 2, 28);
  file.writeUInt16LE(2, 32);
  file.writeUInt16LE(16, 34);
  file.write('data', 36, 'ascii');
  file.writeUInt32LE(dataBytes, 40);
  for (let i = 0; i < samples.length; i++) file.writeInt16LE(samples[i]!, HEADER_BYTES + 2 * i);
  return file;
}
