import type { StreamEvents } from '../media/index.js';
import type { Metrics } from '../observability/index.js';
import type { LegOrigin } from './security-label.js';

/**
 * The events of one media stream of a leg, recorded as the RTP, SRTP and RTCP metrics of its
 * origin. The counters are bound here, once per stream, so the per-packet path skips the label check.
 */
export function streamMetricEvents(metrics: Metrics, legOrigin: LegOrigin): StreamEvents {
  const origin = { origin: legOrigin };
  const packetsIn = metrics.rtpPackets.bind({ direction: 'in', ...origin });
  const packetsOut = metrics.rtpPackets.bind({ direction: 'out', ...origin });
  const bytesIn = metrics.rtpBytes.bind({ direction: 'in', ...origin });
  const bytesOut = metrics.rtpBytes.bind({ direction: 'out', ...origin });
  return {
    packetIn: (bytes) => {
      packetsIn.inc();
      bytesIn.inc(bytes);
    },
    packetOut: (bytes) => {
      packetsOut.inc();
      bytesOut.inc(bytes);
    },
    authFailure: () => metrics.srtpAuthFailures.inc(origin),
    replayDrop: () => metrics.srtpReplayDrops.inc(origin),
    report: (reception) => {
      metrics.rtcpLossRatio.observe(origin, reception.lossRatio);
      metrics.rtcpJitterSeconds.observe(origin, reception.jitterS);
      if (reception.roundTripS !== undefined) metrics.rtcpRoundTripSeconds.observe(origin, reception.roundTripS);
    },
  };
}
