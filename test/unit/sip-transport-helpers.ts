import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EventEmitter } from 'node:events';

/** A raw SIP request with the headers a server needs to answer it. */
export function sipRequest(opts: {
  method?: string;
  via?: string;
  callId?: string;
  body?: string;
  extraHeaders?: string[];
}): string {
  const method = opts.method ?? 'OPTIONS';
  const body = opts.body ?? '';
  return [
    `${method} sip:echo@127.0.0.1 SIP/2.0`,
    `Via: ${opts.via ?? 'SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-test1'}`,
    'Max-Forwards: 70',
    'From: <sip:alice@example.com>;tag=a1',
    'To: <sip:echo@127.0.0.1>',
    `Call-ID: ${opts.callId ?? 'call-1@example.com'}`,
    `CSeq: 1 ${method}`,
    ...(opts.extraHeaders ?? []),
    `Content-Length: ${Buffer.byteLength(body)}`,
    '',
    body,
  ].join('\r\n');
}

/** Resolves with the next emission of `event`, or rejects after `ms`. */
export function nextEvent<T>(emitter: EventEmitter, event: string, ms = 3000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, onEvent);
      reject(new Error(`no ${event} within ${ms} ms`));
    }, ms);
    const onEvent = (value: T): void => {
      clearTimeout(timer);
      resolve(value);
    };
    emitter.once(event, onEvent);
  });
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export interface TestPki {
  serverKey: string;
  serverCert: string;
  /** The same names on an RSA key, for the TLS 1.2 ECDHE-RSA and plain-RSA cipher families. */
  rsaServerKey: string;
  rsaServerCert: string;
  clientKey: string;
  clientCert: string;
}

/** Self-signed server certificates (P-256 and RSA) for 127.0.0.1/localhost and a self-signed client one. */
export function makeTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'sipgw-transport-'));
  try {
    const issue = (name: string, subject: string, san: string[], keyType = ['ec', '-pkeyopt', 'ec_paramgen_curve:P-256']): void => {
      execFileSync(
        'openssl',
        [
          'req', '-x509', '-newkey', ...keyType, '-nodes', '-days', '2',
          '-subj', subject, '-keyout', join(dir, `${name}.key`), '-out', join(dir, `${name}.crt`),
          ...san.flatMap((ext) => ['-addext', ext]),
        ],
        { stdio: 'ignore' },
      );
    };
    issue('server', '/CN=localhost', ['subjectAltName=DNS:localhost,IP:127.0.0.1']);
    issue('rsa-server', '/CN=localhost', ['subjectAltName=DNS:localhost,IP:127.0.0.1'], ['rsa:2048']);
    issue('client', '/CN=room-system-1', []);
    const read = (file: string): string => readFileSync(join(dir, file), 'utf8');
    return {
      serverKey: read('server.key'),
      serverCert: read('server.crt'),
      rsaServerKey: read('rsa-server.key'),
      rsaServerCert: read('rsa-server.crt'),
      clientKey: read('client.key'),
      clientCert: read('client.crt'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
