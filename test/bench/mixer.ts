/**
 * Meeting audio cost per 20 ms tick, as a meeting runs it: one room system (PCMU at 8 kHz or
 * G.722 at 16 kHz) and N − 1 browsers sending Opus. A tick decodes N − 1 Opus packets (real
 * tones, encoded beforehand), decodes and resamples the room system's packet to 48 kHz, mixes,
 * resamples the room system's mix-minus back and encodes it. A second figure adds one Opus encode
 * per browser, for when the gateway also sends each browser its mix-minus. Ratios are against a
 * bare Opus decode and a bare Opus encode of one frame, measured in the same run; a second table
 * times each part alone. Runs of all cases are interleaved so a busy machine slows them alike.
 */
import { loadavg } from 'node:os';
import { pathToFileURL } from 'node:url';
import {
  G722Decoder,
  G722Encoder,
  OpusDecoder,
  OpusEncoder,
  Resampler,
  mulawDecode,
  mulawEncode,
} from '../../gateway/media/codecs/index.js';
import { AudioMixer } from '../../gateway/media/mixer/index.js';

const FRAMES_PER_RUN = 100;
const RUNS = 7;
const PARTICIPANTS = [2, 5, 10];
const BUDGET_US = 20_000;
/** Distinct packets per stream; the bench cycles through them. */
const CLIP_FRAMES = 50;

interface Case {
  readonly name: string;
  /** Called untimed before each run; returns one tick's (or one operation's) work. */
  readonly prepare: () => () => void;
}

function tone(hz: number, rate: number, frames: number): Int16Array {
  const pcm = new Int16Array((rate / 50) * frames);
  for (let i = 0; i < pcm.length; i++) pcm[i] = Math.round(8000 * Math.sin((2 * Math.PI * hz * i) / rate));
  return pcm;
}

function frameAt(pcm: Int16Array, rate: number, index: number): Int16Array {
  const size = rate / 50;
  return pcm.subarray(index * size, (index + 1) * size);
}

/** Each browser's 1 s of a distinct tone as 20 ms Opus packets. */
function opusPackets(hz: number): Buffer[] {
  const encoder = new OpusEncoder();
  const pcm = tone(hz, 48000, CLIP_FRAMES);
  return Array.from({ length: CLIP_FRAMES }, (_, i) => encoder.encode(frameAt(pcm, 48000, i)));
}

const ROOM_CODECS = {
  PCMU: {
    rate: 8000,
    packets: (): Buffer[] => {
      const pcm = tone(440, 8000, CLIP_FRAMES);
      return Array.from({ length: CLIP_FRAMES }, (_, i) => mulawEncode(frameAt(pcm, 8000, i)));
    },
    codec: () => ({ decode: mulawDecode, encode: mulawEncode }),
  },
  G722: {
    rate: 16000,
    packets: (): Buffer[] => {
      const encoder = new G722Encoder();
      const pcm = tone(440, 16000, CLIP_FRAMES);
      return Array.from({ length: CLIP_FRAMES }, (_, i) => encoder.encode(frameAt(pcm, 16000, i)));
    },
    codec: () => {
      const decoder = new G722Decoder();
      const encoder = new G722Encoder();
      return { decode: (payload: Uint8Array) => decoder.decode(payload), encode: (pcm: Int16Array) => encoder.encode(pcm) };
    },
  },
} as const;

type RoomCodec = keyof typeof ROOM_CODECS;

function meetingCase(participants: number, room: RoomCodec, encodeForBrowsers: boolean, packets: Map<string, Buffer[]>): Case {
  const { rate, codec } = ROOM_CODECS[room];
  return {
    name: `meeting ${participants} ${room} ${encodeForBrowsers}`,
    prepare: () => {
      const mixer = new AudioMixer();
      const browsers = Array.from({ length: participants - 1 }, (_, i) => {
        const id = `browser-${i}`;
        mixer.addSource(id);
        mixer.addOutput(id, id);
        return { id, decoder: new OpusDecoder(), encoder: new OpusEncoder(), packets: packets.get(`opus ${i}`)! };
      });
      mixer.addSource('room');
      mixer.addOutput('room', 'room');
      const roomCodec = codec();
      const roomPackets = packets.get(room)!;
      const upsampler = new Resampler(rate, 48000);
      const downsampler = new Resampler(48000, rate);
      let tick = 0;
      return () => {
        const index = tick++ % CLIP_FRAMES;
        for (const browser of browsers) mixer.push(browser.id, browser.decoder.decode(browser.packets[index]!));
        mixer.push('room', upsampler.process(roomCodec.decode(roomPackets[index]!)));
        const { outputs } = mixer.mix();
        roomCodec.encode(downsampler.process(outputs.get('room')!));
        if (encodeForBrowsers) for (const browser of browsers) browser.encoder.encode(outputs.get(browser.id)!);
      };
    },
  };
}

/** Median µs per tick for each case; run 0 only warms up the JIT. */
function measure(cases: readonly Case[]): Map<string, number> {
  const samples = new Map<string, number[]>(cases.map((c) => [c.name, []]));
  for (let run = 0; run <= RUNS; run++) {
    for (const { name, prepare } of cases) {
      const work = prepare();
      const start = process.hrtime.bigint();
      for (let frame = 0; frame < FRAMES_PER_RUN; frame++) work();
      const micros = Number(process.hrtime.bigint() - start) / 1000 / FRAMES_PER_RUN;
      if (run > 0) samples.get(name)!.push(micros);
    }
  }
  return new Map([...samples].map(([name, values]) => [name, values.sort((a, b) => a - b)[values.length >> 1]!]));
}

/** A case that repeats `operation` on consecutive items of `inputs`. */
function partCase<T>(name: string, inputs: readonly T[], make: () => (input: T) => unknown): Case {
  return {
    name,
    prepare: () => {
      const operation = make();
      let index = 0;
      return () => {
        operation(inputs[index++ % inputs.length]!);
      };
    },
  };
}

function mixOnlyCase(participants: number): Case {
  return {
    name: `mix ${participants}`,
    prepare: () => {
      const mixer = new AudioMixer();
      const frames = Array.from({ length: participants }, (_, i) => frameAt(tone(300 + 100 * i, 48000, 1), 48000, 0));
      for (let i = 0; i < participants; i++) {
        mixer.addSource(`p${i}`);
        mixer.addOutput(`p${i}`, `p${i}`);
      }
      return () => {
        for (let i = 0; i < participants; i++) mixer.push(`p${i}`, frames[i]!);
        mixer.mix();
      };
    },
  };
}

const micros = (value: number) => value.toFixed(1).padStart(9);
const percent = (value: number) => `${((100 * value) / BUDGET_US).toFixed(2)} %`.padStart(9);
const ratio = (value: number, reference: number) => `${(value / reference).toFixed(1)}×`.padStart(8);

export async function run(): Promise<void> {
  const maxBrowsers = Math.max(...PARTICIPANTS) - 1;
  const packets = new Map<string, Buffer[]>();
  for (let i = 0; i < maxBrowsers; i++) packets.set(`opus ${i}`, opusPackets(300 + 110 * i));
  for (const room of Object.keys(ROOM_CODECS) as RoomCodec[]) packets.set(room, ROOM_CODECS[room].packets());

  const pcm48 = Array.from({ length: CLIP_FRAMES }, (_, i) => frameAt(tone(440, 48000, CLIP_FRAMES), 48000, i));
  const pcm16 = Array.from({ length: CLIP_FRAMES }, (_, i) => frameAt(tone(440, 16000, CLIP_FRAMES), 16000, i));
  const pcm8 = Array.from({ length: CLIP_FRAMES }, (_, i) => frameAt(tone(440, 8000, CLIP_FRAMES), 8000, i));
  const parts: [string, Case][] = [
    ['Opus decode (reference)', partCase('opus decode', packets.get('opus 0')!, () => {
      const decoder = new OpusDecoder();
      return (packet: Buffer) => decoder.decode(packet);
    })],
    ['Opus encode (reference)', partCase('opus encode', pcm48, () => {
      const encoder = new OpusEncoder();
      return (pcm: Int16Array) => encoder.encode(pcm);
    })],
    ['G.722 decode, 160 B → 320 samples', partCase('g722 decode', packets.get('G722')!, () => {
      const decoder = new G722Decoder();
      return (packet: Buffer) => decoder.decode(packet);
    })],
    ['G.722 encode, 320 samples → 160 B', partCase('g722 encode', pcm16, () => {
      const encoder = new G722Encoder();
      return (pcm: Int16Array) => encoder.encode(pcm);
    })],
    ['PCMU decode, 160 B', partCase('pcmu decode', packets.get('PCMU')!, () => mulawDecode)],
    ['PCMU encode, 160 samples', partCase('pcmu encode', pcm8, () => mulawEncode)],
    ['resample 48 kHz → 8 kHz', partCase('48k-8k', pcm48, () => {
      const resampler = new Resampler(48000, 8000);
      return (pcm: Int16Array) => resampler.process(pcm);
    })],
    ['resample 8 kHz → 48 kHz', partCase('8k-48k', pcm8, () => {
      const resampler = new Resampler(8000, 48000);
      return (pcm: Int16Array) => resampler.process(pcm);
    })],
    ['resample 48 kHz → 16 kHz', partCase('48k-16k', pcm48, () => {
      const resampler = new Resampler(48000, 16000);
      return (pcm: Int16Array) => resampler.process(pcm);
    })],
    ['resample 16 kHz → 48 kHz', partCase('16k-48k', pcm16, () => {
      const resampler = new Resampler(16000, 48000);
      return (pcm: Int16Array) => resampler.process(pcm);
    })],
    ...PARTICIPANTS.map((n): [string, Case] => [`push + mix-minus, ${n} sources and outputs`, mixOnlyCase(n)]),
  ];

  const meetings = PARTICIPANTS.flatMap((n) =>
    (Object.keys(ROOM_CODECS) as RoomCodec[]).flatMap((room) => [meetingCase(n, room, false, packets), meetingCase(n, room, true, packets)]),
  );
  const results = measure([...parts.map(([, c]) => c), ...meetings]);
  const decodeRef = results.get('opus decode')!;
  const encodeRef = results.get('opus encode')!;

  console.log(`meeting audio, µs per 20 ms tick (median of ${RUNS} runs × ${FRAMES_PER_RUN} ticks)`);
  console.log('room leg: decode N−1 Opus + room packet, resample up, mix, resample down, encode the room codec');
  console.log('+ browsers: the same plus one Opus encode of each browser’s mix-minus');
  console.log(`reference: one bare Opus decode ${decodeRef.toFixed(1)} µs and encode ${encodeRef.toFixed(1)} µs of a 20 ms frame`);
  // Wall-clock figures on a shared machine scale with its load; the ratios much less so.
  console.log(`load average at the end: ${loadavg().map((load) => load.toFixed(1)).join(' ')}\n`);
  console.log(
    `${'participants'.padEnd(14)}${'room'.padEnd(6)}${'µs/tick'.padStart(9)}${'budget'.padStart(9)}${'×dec'.padStart(8)}` +
      `${'+browsers'.padStart(11)}${'budget'.padStart(9)}${'×enc'.padStart(8)}`,
  );
  for (const n of PARTICIPANTS) {
    for (const room of Object.keys(ROOM_CODECS) as RoomCodec[]) {
      const roomOnly = results.get(`meeting ${n} ${room} false`)!;
      const withBrowsers = results.get(`meeting ${n} ${room} true`)!;
      console.log(
        `${String(n).padEnd(14)}${room.padEnd(6)}${micros(roomOnly)}${percent(roomOnly)}${ratio(roomOnly, decodeRef)}` +
          `  ${micros(withBrowsers)}${percent(withBrowsers)}${ratio(withBrowsers, encodeRef)}`,
      );
    }
  }

  console.log('\nparts, µs per 20 ms frame (median)');
  console.log(`${'part'.padEnd(44)}${'µs'.padStart(9)}${'budget'.padStart(9)}${'×dec'.padStart(8)}`);
  for (const [label, part] of parts) {
    const value = results.get(part.name)!;
    console.log(`${label.padEnd(44)}${micros(value)}${percent(value)}${ratio(value, decodeRef)}`);
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await run();
