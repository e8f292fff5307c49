import type { GatewayProcess } from '../interop/gateway-process.js';
import { startBaresip, type Baresip, type BaresipOptions } from '../peers/baresip.js';
import { makeSelfSignedCertificate } from '../peers/openssl-cert.js';
import { findFreePortBlock } from '../peers/process.js';

/**
 * Starts baresip as a room system (SIP-TLS, mandatory SRTP, its own certificate in `dir`) on free
 * ports, and dials it into `meetingId` on the gateway; resolves once the call is established.
 */
export async function dialInRoomSystem(
  gateway: GatewayProcess,
  dir: string,
  meetingId: string,
  options: Pick<BaresipOptions, 'toneHz' | 'video' | 'sipTrace'> = {},
): Promise<Baresip> {
  const base = findFreePortBlock(60);
  const room = await startBaresip({
    name: 'room',
    sipPort: base,
    ctrlPort: base + 2,
    rtpPorts: [base + 10, base + 59],
    mediaenc: 'srtp-mand',
    ...options,
    certificate: makeSelfSignedCertificate(dir, 'room.example').combinedPath,
    caFile: gateway.caFile,
  });
  await room.dial(`sip:${meetingId}@127.0.0.1:${gateway.ports.sip.tls};transport=tls`);
  await room.waitForEvent('CALL_ESTABLISHED', 15_000);
  return room;
}
