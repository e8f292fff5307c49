import { AesCmHmacSha1Cipher } from './aes-cm-hmac-sha1.js';
import { AesGcmCipher } from './aes-gcm.js';
import { SrtpError } from './errors.js';
import { deriveSessionKeys, type SessionKeys } from './kdf.js';
import { RTCP_HEADER_LENGTH, SRTCP_INDEX_LENGTH, type PacketCipher } from './packet-cipher.js';
import type { ReplayWindow } from './replay-window.js';
import { StreamTable } from './stream-table.js';
import { suiteParameters, type SrtpSuite, type SuiteParameters } from './suites.js';

const RTP_HEADER_LENGTH = 12;
const MIN_REPLAY_WINDOW = 64;
const MAX_REPLAY_WINDOW = 0x8000;
const MAX_SRTCP_INDEX = 0x7fffffff;
const MAX_SRTP_INDEX = 2 ** 48 - 1;

export interface SrtpContextOptions {
  /** Replay window in packets, 64 (RFC 3711's minimum, the default) to 32768. */
  replayWindow?: number;
}

/**
 * One direction of one SRTP session (RFC 3711 crypto context), for any number of SSRCs since
 * SDES keys belong to an m-line, not an SSRC. Keys are derived once (key derivation rate 0).
 *
 * Per SSRC it keeps, separately for protect and unprotect and for RTP and RTCP, a replay
 * window whose highest index also gives the ROC and the next SRTCP index. At most 32 SSRCs
 * per table are tracked (least recently used forgotten) so a peer cannot grow memory; only
 * authenticated packets create state. protect() refuses an index it already used (reusing
 * one would reuse keystream, and for GCM leak the authentication key), as libsrtp does.
 */
export class SrtpContext {
  readonly #rtp: PacketCipher;
  readonly #rtcp: PacketCipher;
  readonly #sent: StreamTable;
  readonly #received: StreamTable;
  readonly #sentRtcp: StreamTable;
  readonly #receivedRtcp: StreamTable;

  constructor(suite: SrtpSuite, masterKey: Buffer, masterSalt: Buffer, options: SrtpContextOptions = {}) {
    const parameters = suiteParameters(suite);
    if (!Buffer.isBuffer(masterKey) || masterKey.length !== parameters.keyLength) {
      throw new RangeError(`${suite} needs a ${parameters.keyLength}-byte master key`);
    }
    if (!Buffer.isBuffer(masterSalt) || masterSalt.length !== parameters.saltLength) {
      throw new RangeError(`${suite} needs a ${parameters.saltLength}-byte master salt`);
    }
    const windowSize = options.replayWindow ?? MIN_REPLAY_WINDOW;
    if (!Number.isInteger(windowSize) || windowSize < MIN_REPLAY_WINDOW || windowSize > MAX_REPLAY_WINDOW) {
      throw new RangeError(`replayWindow must be an integer from ${MIN_REPLAY_WINDOW} to ${MAX_REPLAY_WINDOW}`);
    }
    const keys = deriveSessionKeys(masterKey, masterSalt, parameters);
    this.#rtp = createCipher(parameters, keys.rtp, parameters.rtpTagLength);
    this.#rtcp = createCipher(parameters, keys.rtcp, parameters.rtcpTagLength);
    this.#sent = new StreamTable(windowSize);
    this.#received = new StreamTable(windowSize);
    this.#sentRtcp = new StreamTable(windowSize);
    this.#receivedRtcp = new StreamTable(windowSize);
  }

  /** RTP → SRTP. Throws SrtpError 'malformed' for a bad header, 'replay'/'too-old' for a reused index. */
  protect(rtp: Buffer): Buffer {
    requireBuffer(rtp);
    const headerLength = rtpHeaderLength(rtp, rtp.length);
    const ssrc = rtp.readUInt32BE(8);
    const window = this.#sent.get(ssrc);
    const index = packetIndex(window, rtp.readUInt16BE(2));
    if (index > MAX_SRTP_INDEX) throw new Error('SRTP index space exhausted: rekey');
    const out = this.#rtp.sealRtp(rtp, headerLength, ssrc, index);
    (window ?? this.#sent.add(ssrc)).accept(index);
    return out;
  }

  /** SRTP → RTP. Throws SrtpError: 'malformed', 'replay', 'too-old', 'auth'. */
  unprotect(srtp: Buffer): Buffer {
    requireBuffer(srtp);
    const headerLength = rtpHeaderLength(srtp, srtp.length - this.#rtp.tagLength);
    const ssrc = srtp.readUInt32BE(8);
    const window = this.#received.get(ssrc);
    const index = packetIndex(window, srtp.readUInt16BE(2));
    const out = this.#rtp.openRtp(srtp, headerLength, ssrc, index);
    if (out === undefined) throw new SrtpError('auth', 'SRTP authentication failed');
    (window ?? this.#received.add(ssrc)).accept(index);
    return out;
  }

  /** RTCP → SRTCP, always encrypted (E = 1), with this SSRC's next SRTCP index. */
  protectRtcp(rtcp: Buffer): Buffer {
    requireBuffer(rtcp);
    checkRtcpHeader(rtcp, rtcp.length);
    const ssrc = rtcp.readUInt32BE(4);
    const window = this.#sentRtcp.get(ssrc);
    const index = window === undefined ? 0 : window.highest + 1;
    if (index > MAX_SRTCP_INDEX) throw new Error('SRTCP index space exhausted: rekey');
    const out = this.#rtcp.sealRtcp(rtcp, ssrc, index);
    (window ?? this.#sentRtcp.add(ssrc)).accept(index);
    return out;
  }

  /** SRTCP → RTCP, honouring the E flag. Throws SrtpError: 'malformed', 'replay', 'too-old', 'auth'. */
  unprotectRtcp(srtcp: Buffer): Buffer {
    requireBuffer(srtcp);
    const cipher = this.#rtcp;
    const trailer = SRTCP_INDEX_LENGTH + cipher.tagLength;
    checkRtcpHeader(srtcp, srtcp.length - trailer);
    const indexAt = srtcp.length - (cipher.tagBeforeSrtcpIndex ? SRTCP_INDEX_LENGTH : trailer);
    const word = srtcp.readUInt32BE(indexAt);
    const index = word & MAX_SRTCP_INDEX;
    const ssrc = srtcp.readUInt32BE(4);
    const window = this.#receivedRtcp.get(ssrc);
    if (window !== undefined) checkReplay(window, index);
    const out = cipher.openRtcp(srtcp, ssrc, index, word !== index);
    if (out === undefined) throw new SrtpError('auth', 'SRTCP authentication failed');
    (window ?? this.#receivedRtcp.add(ssrc)).accept(index);
    return out;
  }
}

function createCipher(parameters: SuiteParameters, keys: SessionKeys, tagLength: number): PacketCipher {
  return parameters.transform === 'aes-gcm' ? new AesGcmCipher(keys) : new AesCmHmacSha1Cipher(keys, tagLength);
}

/** Header length up to the payload (CSRCs and extension included), checked against `end`. */
function requireBuffer(packet: Buffer): void {
  if (!Buffer.isBuffer(packet)) throw new TypeError('packet must be a Buffer');
}

function rtpHeaderLength(packet: Buffer, end: number): number {
  if (end < RTP_HEADER_LENGTH) throw new SrtpError('malformed', 'RTP packet too short');
  const first = packet[0]!;
  if (first >> 6 !== 2) throw new SrtpError('malformed', 'not an RTP version 2 packet');
  let length = RTP_HEADER_LENGTH + 4 * (first & 0x0f);
  if (first & 0x10) {
    if (length + 4 > end) throw new SrtpError('malformed', 'RTP header extension truncated');
    length += 4 + 4 * packet.readUInt16BE(length + 2);
  }
  if (length > end) throw new SrtpError('malformed', 'RTP header longer than the packet');
  return length;
}

function checkRtcpHeader(packet: Buffer, end: number): void {
  if (end < RTCP_HEADER_LENGTH) throw new SrtpError('malformed', 'RTCP packet too short');
  if (packet[0]! >> 6 !== 2) throw new SrtpError('malformed', 'not an RTCP version 2 packet');
}

/**
 * RFC 3711 §3.3.1 / Appendix A: the index nearest the highest seen (ROC guessed as ROC - 1,
 * ROC or ROC + 1), checked against the replay window. A new SSRC starts at ROC 0.
 */
function packetIndex(window: ReplayWindow | undefined, seq: number): number {
  if (window === undefined) return seq;
  const highest = window.highest;
  const highestSeq = highest % 0x10000;
  let roc = (highest - highestSeq) / 0x10000;
  if (highestSeq < 0x8000) {
    if (seq - highestSeq > 0x8000) roc -= 1;
  } else if (highestSeq - 0x8000 > seq) {
    roc += 1;
  }
  if (roc < 0) throw new SrtpError('too-old', 'SRTP packet from before the first ROC');
  const index = roc * 0x10000 + seq;
  checkReplay(window, index);
  return index;
}

function checkReplay(window: ReplayWindow, index: number): void {
  const verdict = window.check(index);
  if (verdict === 'replay') throw new SrtpError('replay', 'packet index already seen');
  if (verdict === 'too-old') throw new SrtpError('too-old', 'packet index older than the replay window');
}
