import { describe, expect, it } from 'vitest';
import { createLogger, createMetrics, tlsVersionLabel } from '../../gateway/observability/index.js';

function captureLogs(): { lines: () => string[]; dest: { write(line: string): void } } {
  const out: string[] = [];
  return { lines: () => out.join('').trim().split('\n'), dest: { write: (line) => void out.push(line) } };
}

describe('createMetrics', () => {
  it('exports the whole catalogue under sipgw_, with every series present at 0 before any event', async () => {
    const text = await createMetrics({ version: '1.2.3' }).registry.metrics();
    for (const name of [
      'sipgw_sip_messages_total',
      'sipgw_sip_parse_errors_total',
      'sipgw_sip_transactions_total',
      'sipgw_tls_handshakes_total',
      'sipgw_calls_total',
      'sipgw_legs_active',
      'sipgw_srtp_auth_failures_total',
      'sipgw_srtp_replay_drops_total',
      'sipgw_rtp_packets_total',
      'sipgw_media_timeouts_total',
      'sipgw_process_cpu_seconds_total',
      'sipgw_nodejs_eventloop_lag_seconds',
    ]) {
      expect(text).toMatch(new RegExp(`^# HELP ${name} \\S`, 'm'));
    }
    expect(text).toContain('sipgw_calls_total{origin="pstn",outcome="rejected_no_srtp"} 0');
    expect(text).toContain('sipgw_legs_active{origin="h323",media="h235"} 0');
    expect(text).toContain(`sipgw_build_info{version="1.2.3",node_version="${process.version}"} 1`);
    const metricNames = text.split('\n').filter((line) => line.startsWith('# TYPE ')).map((line) => line.split(' ')[2]);
    expect(metricNames.every((name) => name?.startsWith('sipgw_'))).toBe(true);
  });

  it('takes the build version from package.json by default', async () => {
    const text = await createMetrics().registry.metrics();
    expect(text).toMatch(/sipgw_build_info\{version="\d+\.\d+\.\d+"/);
  });

  it('counts per label combination, separately for each gateway instance', async () => {
    const a = createMetrics();
    const b = createMetrics();
    a.calls.inc({ origin: 'sip', outcome: 'answered' });
    a.calls.inc({ origin: 'sip', outcome: 'answered' });
    a.legsActive.inc({ origin: 'pstn', media: 'none' });
    a.legsActive.inc({ origin: 'pstn', media: 'none' });
    a.legsActive.dec({ origin: 'pstn', media: 'none' });
    expect(await a.calls.value({ origin: 'sip', outcome: 'answered' })).toBe(2);
    expect(await a.calls.value({ origin: 'pstn', outcome: 'answered' })).toBe(0);
    expect(await b.calls.value({ origin: 'sip', outcome: 'answered' })).toBe(0);
    expect(await a.legsActive.value({ origin: 'pstn', media: 'none' })).toBe(1);
    expect(await a.registry.metrics()).toContain('sipgw_calls_total{origin="sip",outcome="answered"} 2');
  });

  it('refuses label values outside the catalogue, recording nothing', async () => {
    const metrics = createMetrics();
    const smuggled = { transport: 'sctp', direction: 'in', kind: 'request' } as never;
    expect(() => metrics.sipMessages.inc(smuggled)).toThrow(
      'sipgw_sip_messages_total: label "transport" must be one of udp|tcp|tls',
    );
    const extra = { origin: 'sip', callId: 'abc@host' } as never;
    expect(() => metrics.srtpReplayDrops.inc(extra)).toThrow('unknown label "callId"');
    const text = await metrics.registry.metrics();
    expect(text).not.toContain('sctp');
    expect(text).not.toContain('abc@host');
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
