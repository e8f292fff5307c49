import { describe, expect, it } from 'vitest';
import {
  applySessionTimer,
  formatSessionExpires,
  parseMinSE,
  parseSessionExpires,
  readSessionTimer,
} from '../../gateway/sip/dialog/index.js';
import { createResponse } from '../../gateway/sip/message/index.js';
import { inbound, requestText } from './sip-transaction-fixtures.js';
import type { SipRequest } from '../../gateway/sip/message/index.js';

function request(extra: string[]): SipRequest {
  const { message } = inbound(requestText({ extra }));
  if (message.type !== 'request') throw new Error('not a request');
  return message;
}

describe('session timer primitives (RFC 4028)', () => {
  it('parses Session-Expires with and without a refresher', () => {
    expect(parseSessionExpires('1800;refresher=uac')).toEqual({ deltaSeconds: 1800, refresher: 'uac' });
    expect(parseSessionExpires(' 90 ; REFRESHER = UAS ;x=y')).toEqual({ deltaSeconds: 90, refresher: 'uas' });
    expect(parseSessionExpires('600')).toEqual({ deltaSeconds: 600 });
    expect(parseSessionExpires('soon')).toBeUndefined();
    expect(parseSessionExpires('600;refresher=both')).toBeUndefined();
    expect(formatSessionExpires({ deltaSeconds: 1800, refresher: 'uas' })).toBe('1800;refresher=uas');
  });

  it('parses Min-SE', () => {
    expect(parseMinSE('120')).toBe(120);
    expect(parseMinSE('120;foo')).toBe(120);
    expect(parseMinSE('-1')).toBeUndefined();
  });

  it('reads what the UAC asked for', () => {
    const asked = readSessionTimer(request(['Supported: replaces, timer', 'Session-Expires: 1800', 'Min-SE: 90']));
    expect(asked).toEqual({ uacSupportsTimer: true, sessionExpires: { deltaSeconds: 1800 }, minSE: 90 });
    expect(readSessionTimer(request([]))).toEqual({ uacSupportsTimer: false });
  });

  it('puts the chosen timer on the 2xx, requiring it only from a UAC that supports it', () => {
    const supporting = request(['Supported: timer', 'Session-Expires: 1800']);
    const ok = createResponse(supporting, 200, undefined, 't');
    applySessionTimer(ok, readSessionTimer(supporting), { deltaSeconds: 1800, refresher: 'uac' });
    expect(ok.headers.get('Session-Expires')).toBe('1800;refresher=uac');
    expect(ok.headers.get('Require')).toBe('timer');

    const legacy = request(['Session-Expires: 1800']);
    const ok2 = createResponse(legacy, 200, undefined, 't');
    applySessionTimer(ok2, readSessionTimer(legacy), { deltaSeconds: 1800, refresher: 'uac' });
    expect(ok2.headers.get('Session-Expires')).toBe('1800;refresher=uas');
    expect(ok2.headers.has('Require')).toBe(false);
  });
});
