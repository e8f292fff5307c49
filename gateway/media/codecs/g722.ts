/**
 * ITU-T G.722 sub-band ADPCM at 64 kbit/s (mode 1): 16 kHz PCM, one octet per pair of samples.
 * A 24-tap QMF splits the signal into a 0–4 kHz band coded with 6 bits and a 4–8 kHz band coded
 * with 2 bits, each with an adaptive quantiser and a pole-zero predictor. The arithmetic follows
 * the Recommendation's fixed-point blocks (names in comments), because the decoder must track
 * the far encoder's predictor state bit for bit; the tables are the Recommendation's.
 * Octet layout: IH in the top two bits, IL in the low six.
 */

/** QMF coefficients h0, h2, …, h22 (×2^13); the filter is symmetric, so h(2i+1) = h(22−2i). */
const QMF_EVEN = [3, -11, 12, 32, -210, 951, 3876, -805, 362, -156, 53, -11] as const;
const QMF_TAPS = 24;

/** Lower band decision levels (×detl/2^12), intervals 1–29 (QUANTL). */
const Q6 = Int32Array.of(0, 35, 72, 110, 150, 190, 233, 276, 323, 370, 422, 473, 530, 587, 650, 714, 786, 858, 940, 1023, 1121, 1219, 1339, 1458, 1612, 1765, 1980, 2195, 2557, 2919);
/** IL code of each interval, negative and positive error. */
const ILN = Int32Array.of(0, 63, 62, 31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4);
const ILP = Int32Array.of(0, 61, 60, 59, 58, 57, 56, 55, 54, 53, 52, 51, 50, 49, 48, 47, 46, 45, 44, 43, 42, 41, 40, 39, 38, 37, 36, 35, 34, 33, 32);
/** Inverse quantiser outputs: 4-bit (predictor adaptation, INVQAL) and 6-bit (decoder output, INVQBL). */
const QM4 = Int32Array.of(0, -20456, -12896, -8968, -6288, -4240, -2584, -1200, 20456, 12896, 8968, 6288, 4240, 2584, 1200, 0);
const QM6 = Int32Array.of(
  -136, -136, -136, -136, -24808, -21904, -19008, -16704, -14984, -13512, -12280, -11192, -10232, -9360, -8576, -7856,
  -7192, -6576, -6000, -5456, -4944, -4464, -4008, -3576, -3168, -2776, -2400, -2032, -1688, -1360, -1040, -728,
  24808, 21904, 19008, 16704, 14984, 13512, 12280, 11192, 10232, 9360, 8576, 7856, 7192, 6576, 6000, 5456,
  4944, 4464, 4008, 3576, 3168, 2776, 2400, 2032, 1688, 1360, 1040, 728, 432, 136, -432, -136,
);
/** Log scale factor steps (LOGSCL), indexed by the 4-bit code's magnitude. */
const WL = Int32Array.of(-60, -30, 58, 172, 334, 538, 1198, 3042);
const RL42 = Int32Array.of(0, 7, 6, 5, 4, 3, 2, 1, 7, 6, 5, 4, 3, 2, 1, 0);
/** Higher band: decision level 564, inverse quantiser, log scale factor steps (LOGSCH). */
const QM2 = Int32Array.of(-7408, -1616, 7408, 1616);
const WH = Int32Array.of(0, -214, 798);
const RH2 = Int32Array.of(2, 1, 2, 1);
/** 2^(k/32) × 2^11, the mantissa table of the scale factor (SCALEL/SCALEH). */
const ILB = Int32Array.of(
  2048, 2093, 2139, 2186, 2233, 2282, 2332, 2383, 2435, 2489, 2543, 2599, 2656, 2714, 2774, 2834,
  2896, 2960, 3025, 3091, 3158, 3228, 3298, 3371, 3444, 3520, 3597, 3676, 3756, 3838, 3922, 4008,
);

const LOW_NB_MAX = 18432;
const HIGH_NB_MAX = 22528;

function saturate(value: number): number {
  return value > 32767 ? 32767 : value < -32768 ? -32768 : value;
}

function clampReconstructed(value: number): number {
  return value > 16383 ? 16383 : value < -16384 ? -16384 : value;
}

/** SCALEL/SCALEH: 2^(nb/2048) × 2^(13 − shift), so 32 at nb = 0 for the lower band (shift 8), 8 for the higher (10). */
function scaleFactor(nb: number, shift: number): number {
  const exponent = shift - (nb >> 11);
  const mantissa = ILB[(nb >> 6) & 31]!;
  return (exponent < 0 ? mantissa << -exponent : mantissa >> exponent) << 2;
}

/** Sign-bit comparison, as the Recommendation's SG[·]: zero counts as positive. */
function sameSign(a: number, b: number): boolean {
  return (a ^ b) >= 0;
}

/**
 * One sub-band's adaptive predictor (block 4: two poles, six zeros) and its scale factor.
 * `prediction` is the estimate of the band's next sample.
 */
class SubBand {
  prediction = 0;
  scale: number;
  logScale = 0;
  #zeroSum = 0;
  #r1 = 0;
  #r2 = 0;
  #p1 = 0;
  #p2 = 0;
  #a1 = 0;
  #a2 = 0;
  readonly #d = new Int32Array(7);
  readonly #b = new Int32Array(7);

  constructor(minimumScale: number) {
    this.scale = minimumScale;
  }

  /** Block 4 for the quantised difference `dq` of this sample. */
  adapt(dq: number): void {
    const r = saturate(this.prediction + dq);
    const p = saturate(this.#zeroSum + dq);

    // UPPOL2: a2 ← (1 − 2^-7)·a2 + 2^-7·sg(p·p2) − 2^-7·f(a1)·sg(p·p1), |a2| ≤ 0.75
    const f = saturate(this.#a1 * 4);
    const poleTerm = sameSign(p, this.#p1) ? Math.min(-f, 32767) : f;
    let a2 = (poleTerm >> 7) + (sameSign(p, this.#p2) ? 128 : -128) + ((this.#a2 * 32512) >> 15);
    a2 = a2 > 12288 ? 12288 : a2 < -12288 ? -12288 : a2;

    // UPPOL1: a1 ← (1 − 2^-8)·a1 + 3·2^-8·sg(p·p1), |a1| ≤ 1 − 2^-4 − a2
    let a1 = (sameSign(p, this.#p1) ? 192 : -192) + ((this.#a1 * 32640) >> 15);
    const a1Limit = 15360 - a2;
    a1 = a1 > a1Limit ? a1Limit : a1 < -a1Limit ? -a1Limit : a1;

    // UPZERO and DELAYA: b_i ← (1 − 2^-8)·b_i + 2^-7·sg(dq·d_i), no step when dq is zero.
    const d = this.#d;
    const b = this.#b;
    const step = dq === 0 ? 0 : 128;
    let zeroSum = 0;
    for (let i = 6; i >= 1; i--) {
      b[i] = saturate((sameSign(dq, d[i]!) ? step : -step) + ((b[i]! * 32640) >> 15));
      d[i] = i === 1 ? dq : d[i - 1]!;
      // FILTEZ with the shifted delay line and the new coefficients.
      zeroSum += (b[i]! * saturate(2 * d[i]!)) >> 15;
    }
    this.#p2 = this.#p1;
    this.#p1 = p;
    this.#r2 = this.#r1;
    this.#r1 = r;
    this.#a1 = a1;
    this.#a2 = a2;
    this.#zeroSum = saturate(zeroSum);

    // FILTEP and PREDIC.
    const poleSum = saturate(((a1 * saturate(2 * r)) >> 15) + ((a2 * saturate(2 * this.#r2)) >> 15));
    this.prediction = saturate(poleSum + this.#zeroSum);
  }

  /** LOGSCL + SCALEL for the lower band's 4-bit code. */
  adaptLowScale(code4: number): void {
    const nb = ((this.logScale * 127) >> 7) + WL[RL42[code4]!]!;
    this.logScale = nb < 0 ? 0 : nb > LOW_NB_MAX ? LOW_NB_MAX : nb;
    this.scale = scaleFactor(this.logScale, 8);
  }

  /** LOGSCH + SCALEH for the higher band's 2-bit code. */
  adaptHighScale(code2: number): void {
    const nb = ((this.logScale * 127) >> 7) + WH[RH2[code2]!]!;
    this.logScale = nb < 0 ? 0 : nb > HIGH_NB_MAX ? HIGH_NB_MAX : nb;
    this.scale = scaleFactor(this.logScale, 10);
  }
}

export class G722Encoder {
  readonly #low = new SubBand(32);
  readonly #high = new SubBand(8);
  /** The last 22 input samples, then the current call's samples. */
  #window = new Int32Array(QMF_TAPS - 2 + 320);
  /** A sample left over from an odd-length call, paired with the next call's first. */
  #pending: number | undefined;

  /** 16 kHz PCM → one octet per pair of samples. */
  encode(pcm: Int16Array): Buffer {
    const history = QMF_TAPS - 2;
    const carried = this.#pending === undefined ? 0 : 1;
    const total = carried + pcm.length;
    const pairs = total >> 1;
    if (this.#window.length < history + total) {
      const grown = new Int32Array(history + total);
      grown.set(this.#window.subarray(0, history));
      this.#window = grown;
    }
    const window = this.#window;
    if (this.#pending !== undefined) window[history] = this.#pending;
    window.set(pcm, history + carried);
    this.#pending = total % 2 === 1 ? pcm[pcm.length - 1] : undefined;

    const out = Buffer.allocUnsafe(pairs);
    const low = this.#low;
    const high = this.#high;
    for (let n = 0; n < pairs; n++) {
      // Transmit QMF over window[2n .. 2n + 23]; the newest sample is at 2n + 23.
      const newest = 2 * n + QMF_TAPS - 1;
      let even = 0;
      let odd = 0;
      for (let i = 0; i < 12; i++) {
        even += QMF_EVEN[i]! * window[newest - 2 * i]!;
        odd += QMF_EVEN[11 - i]! * window[newest - 2 * i - 1]!;
      }
      // ×2^-13 for the coefficients, ×1/2 to the codec's 15-bit working range.
      const xLow = (even + odd) >> 14;
      const xHigh = (even - odd) >> 14;

      // Lower band: QUANTL, INVQAL, LOGSCL/SCALEL, block 4.
      const el = saturate(xLow - low.prediction);
      const lowMagnitude = el >= 0 ? el : -(el + 1);
      let interval = 1;
      while (interval < 30 && lowMagnitude >= (Q6[interval]! * low.scale) >> 12) interval++;
      const il = el < 0 ? ILN[interval]! : ILP[interval]!;
      const dLow = (low.scale * QM4[il >> 2]!) >> 15;
      low.adaptLowScale(il >> 2);
      low.adapt(dLow);

      // Higher band: QUANTH, INVQAH, LOGSCH/SCALEH, block 4.
      const eh = saturate(xHigh - high.prediction);
      const highMagnitude = eh >= 0 ? eh : -(eh + 1);
      const large = highMagnitude >= (564 * high.scale) >> 12;
      const ih = eh < 0 ? (large ? 0 : 1) : large ? 2 : 3;
      const dHigh = (high.scale * QM2[ih]!) >> 15;
      high.adaptHighScale(ih);
      high.adapt(dHigh);

      out[n] = (ih << 6) | il;
    }
    window.copyWithin(0, 2 * pairs, 2 * pairs + history);
    return out;
  }
}

export class G722Decoder {
  readonly #low = new SubBand(32);
  readonly #high = new SubBand(8);
  /** Receive QMF delay lines, newest last: xd = rL − rH and xs = rL + rH per octet. */
  readonly #difference = new Int32Array(12);
  readonly #sum = new Int32Array(12);
  #newest = 0;

  /** One octet per pair of 16 kHz samples; every octet value is valid. */
  decode(payload: Uint8Array): Int16Array {
    const out = new Int16Array(payload.length * 2);
    const low = this.#low;
    const high = this.#high;
    const difference = this.#difference;
    const sum = this.#sum;
    for (let n = 0; n < payload.length; n++) {
      const octet = payload[n]!;
      const il = octet & 0x3f;
      const ih = octet >> 6;

      // Lower band: INVQBL for the output, INVQAL for adaptation.
      const rLow = clampReconstructed(low.prediction + ((low.scale * QM6[il]!) >> 15));
      const dLow = (low.scale * QM4[il >> 2]!) >> 15;
      low.adaptLowScale(il >> 2);
      low.adapt(dLow);

      const dHigh = (high.scale * QM2[ih]!) >> 15;
      const rHigh = clampReconstructed(high.prediction + dHigh);
      high.adaptHighScale(ih);
      high.adapt(dHigh);

      // Receive QMF on ring buffers of 12; `at` is the newest slot.
      const at = this.#newest = (this.#newest + 1) % 12;
      difference[at] = rLow - rHigh;
      sum[at] = rLow + rHigh;
      let first = 0;
      let second = 0;
      for (let i = 0, slot = at; i < 12; i++, slot = slot === 0 ? 11 : slot - 1) {
        first += QMF_EVEN[i]! * difference[slot]!;
        second += QMF_EVEN[11 - i]! * sum[slot]!;
      }
      // ×2 (QMF gain), ×2 (15-bit back to 16-bit), ×2^-13 for the coefficients; an overloaded
      // reconstruction clips rather than wrapping round.
      out[2 * n] = saturate(first >> 11);
      out[2 * n + 1] = saturate(second >> 11);
    }
    return out;
  }
}
