/**
 * SRTP cost per packet: protect + unprotect for each suite at two RTP packet sizes, as a ratio
 * to a bare node:crypto AES-CTR pass over the same packets (one createCipheriv per packet).
 * A second table times the primitive choices the module made (see aes-cm.ts, hmac-sha1.ts,
 * aes-gcm.ts). Runs of all cases are interleaved so a busy machine slows them alike.
 */
import { createCipheriv, createHash, createHmac, createSecretKey, randomBytes, type KeyObject } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { SRTP_SUITES, SrtpContext, generateMasterKey } from '../../gateway/media/srtp/index.js';
import { AesCounterMode } from '../../gateway/media/srtp/aes-cm.js';
import { HmacSha1 } from '../../gateway/media/srtp/hmac-sha1.js';

const PACKET_SIZES = [172, 1200];
const PACKETS_PER_RUN = 5000;
const RUNS = 9;

interface Case {
  readonly name: string;
  readonly packets: Buffer[];
  /** Called untimed before each run; returns the per-packet work. */
  readonly prepare: () => (packet: Buffer) => void;
}

function rtpPackets(size: number): Buffer[] {
  return Array.from({ length: PACKETS_PER_RUN }, (_, seq) => {
    const packet = randomBytes(size);
    packet[0] = 0x80;
    packet[1] = 96;
    packet.writeUInt16BE(seq, 2);
    packet.writeUInt32BE(0x5eed, 8);
    return packet;
  });
}

/** Median µs per packet for each case; run 0 only warms up the JIT. */
function measure(cases: readonly Case[]): Map<string, number> {
  const samples = new Map<string, number[]>(cases.map((c) => [c.name, []]));
  for (let run = 0; run <= RUNS; run++) {
    for (const { name, packets, prepare } of cases) {
      const work = prepare();
      const start = process.hrtime.bigint();
      for (const packet of packets) work(packet);
      const micros = Number(process.hrtime.bigint() - start) / 1000 / packets.length;
      if (run > 0) samples.get(name)!.push(micros);
    }
  }
  return new Map(
    [...samples].map(([name, values]) => [name, values.sort((a, b) => a - b)[values.length >> 1]!]),
  );
}

function gcmSeal(key: Buffer | KeyObject): (packet: Buffer) => void {
  const iv = randomBytes(12);
  return (packet) => {
    const cipher = createCipheriv('aes-128-gcm', key, iv);
    cipher.setAAD(packet.subarray(0, 12));
    cipher.update(packet.subarray(12));
    cipher.final();
    cipher.getAuthTag();
  };
}

const micros = (value: number) => value.toFixed(2).padStart(8);

export async function run(): Promise<void> {
  const aesKey = randomBytes(16);
  const aesIv = Buffer.concat([randomBytes(14), Buffer.alloc(2)]);
  const packetsBySize = new Map(PACKET_SIZES.map((size) => [size, rtpPackets(size)]));

  const suiteCases: Case[] = [];
  for (const [size, packets] of packetsBySize) {
    suiteCases.push({
      name: `reference ${size}`,
      packets,
      prepare: () => (packet) => {
        createCipheriv('aes-128-ctr', aesKey, aesIv).update(packet);
      },
    });
    for (const suite of SRTP_SUITES) {
      const { key, salt } = generateMasterKey(suite);
      suiteCases.push({
        name: `${suite} ${size}`,
        packets,
        prepare: () => {
          const sender = new SrtpContext(suite, key, salt);
          const receiver = new SrtpContext(suite, key, salt);
          return (packet) => {
            receiver.unprotect(sender.protect(packet));
          };
        },
      });
    }
  }
  const suiteResults = measure(suiteCases);
  console.log(`SRTP protect + unprotect, µs per packet (median of ${RUNS} runs × ${PACKETS_PER_RUN} packets)`);
  console.log('reference: one createCipheriv("aes-128-ctr") + update per packet over the same packets\n');
  console.log(`${'suite'.padEnd(26)}${'bytes'.padStart(6)}${'µs/pkt'.padStart(9)}${'ref µs'.padStart(9)}  ratio`);
  for (const size of PACKET_SIZES) {
    const reference = suiteResults.get(`reference ${size}`)!;
    for (const suite of SRTP_SUITES) {
      const value = suiteResults.get(`${suite} ${size}`)!;
      console.log(
        `${suite.padEnd(26)}${String(size).padStart(6)}${micros(value)} ${micros(reference)}  ${(value / reference).toFixed(2)}×`,
      );
    }
  }

  const authKey = randomBytes(20);
  const ipad = Buffer.alloc(64, 0x36);
  const opad = Buffer.alloc(64, 0x5c);
  for (let i = 0; i < authKey.length; i++) {
    ipad[i] = ipad[i]! ^ authKey[i]!;
    opad[i] = opad[i]! ^ authKey[i]!;
  }
  const innerPrefix = createHash('sha1').update(ipad);
  const outerPrefix = createHash('sha1').update(opad);
  const variants: [string, () => (packet: Buffer) => void][] = [
    ['AES-CM: createCipheriv aes-128-ctr per packet', () => (packet) => {
      createCipheriv('aes-128-ctr', aesKey, aesIv).update(packet);
    }],
    ['AES-CM: one ECB cipher per context + JS XOR (used)', () => {
      const aes = new AesCounterMode(aesKey);
      const scratch = Buffer.alloc(1500);
      return (packet) => {
        packet.copy(scratch);
        aes.xorInPlace(aesIv, scratch, 12, packet.length);
      };
    }],
    ['HMAC-SHA1: createHmac per packet', () => (packet) => {
      createHmac('sha1', authKey).update(packet).digest();
    }],
    ['HMAC-SHA1: hash.copy() of pre-fed ipad/opad', () => (packet) => {
      const inner = innerPrefix.copy().update(packet).digest();
      outerPrefix.copy().update(inner).digest();
    }],
    ['HMAC-SHA1: two crypto.hash, incl. copy-in (used)', () => {
      const hmac = new HmacSha1(authKey);
      return (packet) => {
        packet.copy(hmac.message(packet.length));
        hmac.digest(packet.length);
      };
    }],
    ['AES-GCM: createCipheriv per packet, Buffer key', () => gcmSeal(aesKey)],
    ['AES-GCM: createCipheriv per packet, KeyObject (used)', () => gcmSeal(createSecretKey(aesKey))],
  ];
  const primitiveResults = measure(
    variants.flatMap(([name, prepare]) =>
      PACKET_SIZES.map((size) => ({ name: `${name} ${size}`, packets: packetsBySize.get(size)!, prepare })),
    ),
  );
  console.log('\nprimitive choices, µs per packet (median)');
  console.log(`${'variant'.padEnd(54)}${PACKET_SIZES.map((s) => `${s} B`.padStart(9)).join('')}`);
  for (const [name] of variants) {
    const cells = PACKET_SIZES.map((size) => micros(primitiveResults.get(`${name} ${size}`)!));
    console.log(`${name.padEnd(54)}${cells.join(' ')}`);
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await run();
