import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { createLogger, createMetrics, METRIC_CATALOGUE, PROCESS_METRICS, tlsVersionLabel } from '../../gateway/observability/index.js';
import { requirePeer } from '../peers/availability.js';

const PROCESS_NAMES = new Set(PROCESS_METRICS.map((m) => m.name));

function captureLogs(): { lines: () => string[]; dest: { write(line: string): void } } {
  const out: string[] = [];
  return { lines: () => out.join('').trim().split('\n'), dest: { write: (line) => void out.push(line) } };
}

const promtool = requirePeer('promtool');

/** Metric families in an exposition, by name, with their TYPE and HELP lines. */
function families(text: string): Map<string, { type?: string; help?: string }> {
  const found = new Map<string, { type?: string; help?: string }>();
  for (const line of text.split('\n')) {
    const match = /^# (TYPE|HELP) (\S+) (.*)$/.exec(line);
    if (!match) continue;
    const [, field, name, rest] = match as unknown as [string, 'TYPE' | 'HELP', string, string];
    const family = found.get(name) ?? {};
    if (field === 'TYPE') family.type = rest;
    else family.help = rest;
    found.set(name, family);
  }
  return found;
}

describe('createMetrics', () => {
  it('serves exactly the catalogue: every family it lists, with its type and help, and nothing else', async () => {
    const exported = families(await createMetrics({ version: '1.2.3' }).registry.metrics());
    expect([...exported.keys()].sort()).toEqual(METRIC_CATALOGUE.map((m) => m.name).sort());
    for (const metric of METRIC_CATALOGUE) {
      expect(exported.get(metric.name)?.type, metric.name).toBe(metric.type);
      if (!PROCESS_NAMES.has(metric.name)) expect(exported.get(metric.name)?.help, metric.name).toBe(metric.help);
    }
    expect(METRIC_CATALOGUE.every((m) => /^sipgw_[a-z0-9_]+$/.test(m.name))).toBe(true);
    expect(METRIC_CATALOGUE.filter((m) => m.type === 'counter').every((m) => m.name.endsWith('_total'))).toBe(true);
  });

  it('exports every series at 0 before any event, except sparse ones', async () => {
    const text = await createMetrics({ version: '1.2.3' }).registry.metrics();
    expect(text).toContain('sipgw_calls_total{origin="pstn",outcome="rejected_no_srtp"} 0');
    expect(text).toContain('sipgw_legs_active{origin="h323",media="h235",suite="unknown",encrypted="true"} 0');
    expect(text).toContain('sipgw_sip_requests_total{transport="tls",direction="in",method="INVITE"} 0');
    expect(text).toContain('sipgw_rtcp_packet_loss_ratio_count{origin="pstn"} 0');
    expect(text).toContain('sipgw_draining 0');
    expect(text).toContain(`sipgw_build_info{version="1.2.3",node_version="${process.version}"} 1`);
    expect(text).not.toMatch(/^sipgw_certificate_expiry_timestamp_seconds\{/m);
  });

  it('takes the build version from package.json by default', async () => {
    const text = await createMetrics().registry.metrics();
    expect(text).toMatch(/sipgw_build_info\{version="\d+\.\d+\.\d+"/);
  });

  it('counts per label combination, through inc and bound counters, separately for each gateway instance', async () => {
    const a = createMetrics();
    const b = createMetrics();
    a.calls.inc({ origin: 'sip', outcome: 'answered' });
    a.calls.inc({ origin: 'sip', outcome: 'answered' });
    const bytesIn = a.rtpBytes.bind({ direction: 'in', origin: 'pstn' });
    bytesIn.inc(172);
    bytesIn.inc(172);
    const legs = { origin: 'pstn', media: 'none', suite: 'none', encrypted: 'false' } as const;
    a.legsActive.inc(legs);
    a.legsActive.inc(legs);
    a.legsActive.dec(legs);
    expect(await a.calls.value({ origin: 'sip', outcome: 'answered' })).toBe(2);
    expect(await a.calls.value({ origin: 'pstn', outcome: 'answered' })).toBe(0);
    expect(await b.calls.value({ origin: 'sip', outcome: 'answered' })).toBe(0);
    expect(await a.legsActive.value(legs)).toBe(1);
    const text = await a.registry.metrics();
    expect(text).toContain('sipgw_calls_total{origin="sip",outcome="answered"} 2');
    expect(text).toContain('sipgw_rtp_bytes_total{direction="in",origin="pstn"} 344');
    // A second scrape reports the same totals, not twice them.
    expect(await a.registry.metrics()).toContain('sipgw_rtp_bytes_total{direction="in",origin="pstn"} 344');
  });

  it('observes histograms, sets sparse gauges only when known, and reads scrape-time gauges from their source', async () => {
    const metrics = createMetrics();
    metrics.rtcpLossRatio.observe({ origin: 'pstn' }, 0.03);
    metrics.certificateExpiry.set({ role: 'server' }, 1_800_000_000);
    let unencrypted = 0;
    metrics.unencryptedInRequire.readAtScrape(() => [[{}, unencrypted]]);
    unencrypted = 2;
    const text = await metrics.registry.metrics();
    expect(text).toContain('sipgw_rtcp_packet_loss_ratio_bucket{le="0.05",origin="pstn"} 1');
    expect(text).toContain('sipgw_rtcp_packet_loss_ratio_bucket{le="0.02",origin="pstn"} 0');
    expect(text).toContain('sipgw_certificate_expiry_timestamp_seconds{role="server"} 1800000000');
    expect(text).not.toContain('role="client_ca"');
    expect(text).toContain('sipgw_unencrypted_legs_in_require_meetings 2');
  });

  it('refuses label values outside the catalogue, recording nothing', async () => {
    const metrics = createMetrics();
    const smuggled = { transport: 'sctp', direction: 'in', method: 'INVITE' } as never;
    expect(() => metrics.sipRequests.inc(smuggled)).toThrow(
      'sipgw_sip_requests_total: label "transport" must be one of udp|tcp|tls',
    );
    const extra = { origin: 'sip', callId: 'abc@host' } as never;
    expect(() => metrics.srtpReplayDrops.inc(extra)).toThrow('unknown label "callId"');
    expect(() => metrics.rtpPackets.bind({ direction: 'sideways', origin: 'sip' } as never)).toThrow('label "direction"');
    expect(() => metrics.rtcpJitterSeconds.observe({ origin: '+15551234567' } as never, 0.01)).toThrow('label "origin"');
    const text = await metrics.registry.metrics();
    expect(text).not.toContain('sctp');
    expect(text).not.toContain('abc@host');
    expect(text).not.toContain('15551234567');
  });

  it.skipIf(promtool.skip)('passes promtool check metrics with values recorded in every kind of metric', async () => {
    const metrics = createMetrics();
    metrics.calls.inc({ origin: 'webrtc', outcome: 'answered' });
    metrics.callSetupSeconds.observe({ origin: 'sip' }, 0.12);
    metrics.certificateExpiry.set({ role: 'intermediate' }, 1_900_000_000);
    metrics.rtpPackets.bind({ direction: 'out', origin: 'sip' }).inc();
    const result = spawnSync('promtool', ['check', 'metrics'], { input: await metrics.registry.metrics(), encoding: 'utf8' });
    expect(result.stdout + result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  it('maps negotiated TLS protocols onto the bounded version label', () => {
    expect(tlsVersionLabel('TLSv1.3')).toBe('TLSv1.3');
    expect(tlsVersionLabel('TLSv1.2')).toBe('TLSv1.2');
    expect(tlsVersionLabel('TLSv1')).toBe('unknown');
    expect(tlsVersionLabel(null)).toBe('unknown');
  });
});

describe('createLogger', () => {
  const inlineKey = 'WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz';

  it('writes JSON lines at the configured level', () => {
    const { lines, dest } = captureLogs();
    const log = createLogger('warn', dest);
    log.info('hidden');
    log.warn({ port: 5061 }, 'bound');
    expect(lines()).toHaveLength(1);
    expect(JSON.parse(lines()[0] as string)).toMatchObject({ level: 40, port: 5061, msg: 'bound' });
  });

  it('never shows SRTP keys, passwords or PINs, wherever they appear', () => {
    const { lines, dest } = captureLogs();
    const log = createLogger('debug', dest);
    log.info(
      {
        leg: { crypto: [{ tag: 1, suite: 'AES_CM_128_HMAC_SHA1_80', inline: inlineKey }], srtp: { key: 'c2VjcmV0a2V5' } },
        caller: { password: 'hunter2-pass', pin: '468213' },
        pin: '975310',
        headers: { authorization: 'Digest response="d41d8cd98f"' },
      },
      `offer a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:${inlineKey}|2^20|1:4`,
    );
    log.child({ room: 'r1' }).warn({ attempt: { pin: '112358' } }, 'wrong pin');
    const output = lines().join('\n');
    for (const secret of [inlineKey, 'c2VjcmV0a2V5', 'hunter2-pass', '468213', '975310', 'd41d8cd98f', '112358']) {
      expect(output).not.toContain(secret);
    }
    const first = JSON.parse(lines()[0] as string);
    expect(first.caller).toEqual({ password: '[redacted]', pin: '[redacted]' });
    expect(first.msg).toBe('offer a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:[redacted]|2^20|1:4');
    expect(JSON.parse(lines()[1] as string)).toMatchObject({ room: 'r1', attempt: { pin: '[redacted]' } });
  });
});
