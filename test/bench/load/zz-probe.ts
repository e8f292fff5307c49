import { PeerConnection, Audio, cleanup, type Track } from 'node-datachannel';
import WebSocket from 'ws';
import { startGatewayProcess } from '../../interop/gateway-process.js';

const MODE = process.argv[2] ?? 'auto';
const gw = await startGatewayProcess();
console.log('gateway', gw.pid, gw.ports.http);

function client(name: string) {
  const pc = new PeerConnection(name, { iceServers: [], bindAddress: '127.0.0.1' });
  const tracks = new Map<string, Track>();
  let uplink: Track | undefined;
  const ssrc = Math.floor(Math.random() * 2 ** 32);
  if (MODE === 'local') {
    const a = new Audio('a0', 'SendOnly');
    a.addOpusCodec(111, 'minptime=10;useinbandfec=1');
    a.addSSRC(ssrc, name, 'stream-' + name, 'track-' + name);
    uplink = pc.addTrack(a);
  }
  const counts = new Map<string, number>();
  pc.onTrack((t) => {
    console.log(name, 'onTrack', t.mid(), t.direction(), t.type());
    tracks.set(t.mid(), t);
    if (t.mid() === 'a0') uplink = t;
    t.onMessage((m) => counts.set(t.mid(), (counts.get(t.mid()) ?? 0) + 1));
  });
  pc.onStateChange((s) => console.log(name, 'state', s));
  const ws = new WebSocket(`ws://127.0.0.1:${gw.ports.http}/ws`);
  let first = true;
  ws.on('open', () => ws.send(JSON.stringify({ type: 'join', meetingId: 'demo', name })));
  ws.on('message', (d) => {
    const m = JSON.parse(d.toString());
    if (m.type !== 'offer') { console.log(name, 'msg', m.type, m.code ?? '', m.message ?? ''); return; }
    console.log(name, 'offer downlink', JSON.stringify(m.downlink));
    pc.setRemoteDescription(m.sdp, 'offer');
    const ld = pc.localDescription();
    console.log(name, 'after setRemote local:', ld?.type, 'gathering', pc.gatheringState());
    const send = () => ws.send(JSON.stringify({ type: 'answer', sdp: pc.localDescription()!.sdp }));
    if (pc.gatheringState() === 'complete') send();
    else pc.onGatheringStateChange((s) => { if (s === 'complete' && first) { first = false; console.log(pc.localDescription()!.sdp); send(); } });
  });
  return { pc, ws, counts, ssrc, get uplink() { return uplink; } };
}

const a = client('A');
await new Promise((r) => setTimeout(r, 1500));
const b = client('B');
await new Promise((r) => setTimeout(r, 2000));
let seq = 0, ts = 0;
const payload = Buffer.alloc(80, 0x55);
const timer = setInterval(() => {
  for (const c of [a, b]) {
    const p = Buffer.alloc(12 + payload.length);
    p[0] = 0x80; p[1] = 111; p.writeUInt16BE(seq & 0xffff, 2); p.writeUInt32BE(ts >>> 0, 4); p.writeUInt32BE(c.ssrc >>> 0, 8);
    payload.copy(p, 12);
    const u = c.uplink;
    if (u?.isOpen()) u.sendMessageBinary(p);
  }
  seq++; ts += 960;
}, 20);
await new Promise((r) => setTimeout(r, 3000));
clearInterval(timer);
console.log('A counts', [...a.counts], 'B counts', [...b.counts], 'uplink open', a.uplink?.isOpen(), a.uplink?.direction());
console.log(await gw.metric('sipgw_media_forwarded_total'));
for (const c of [a, b]) { c.ws.close(); c.pc.close(); }
await gw.stop();
console.log(gw.output().slice(-2000));
cleanup();
