/** Parse + serialize throughput of the SIP message layer for a typical INVITE with SDP and a 200 OK. */
import { parseMessage, serializeMessage } from '../../gateway/sip/message/index.js';
import { INVITE, OK_200 } from '../unit/sip-message-samples.js';

const RUNS = 7;
const PER_RUN = 20_000;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function messagesPerSecond(data: Buffer, roundTrip: boolean): number {
  const rates: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const started = process.hrtime.bigint();
    for (let i = 0; i < PER_RUN; i++) {
      const msg = parseMessage(data);
      if (roundTrip) serializeMessage(msg);
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    rates.push(PER_RUN / seconds);
  }
  return median(rates);
}

export async function run(): Promise<void> {
  for (const [name, text] of [['INVITE with SDP', INVITE], ['200 OK', OK_200]] as const) {
    const data = Buffer.from(text);
    messagesPerSecond(data, true); // warm-up
    const parse = messagesPerSecond(data, false);
    const both = messagesPerSecond(data, true);
    console.log(`sip-parse  ${name.padEnd(16)} ${data.length} B  parse ${Math.round(parse)} msg/s  parse+serialize ${Math.round(both)} msg/s`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
