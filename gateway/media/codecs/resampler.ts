/**
 * Rational-ratio resampler (48000 ↔ 16000 / 8000 Hz and the like): a polyphase FIR whose
 * prototype is a Kaiser-windowed sinc designed at the common rate. The low-pass is flat up to 80 %
 * of the lower rate's Nyquist frequency (3.2 kHz at 8 kHz, 6.4 kHz at 16 kHz) and reaches its
 * stopband (≥ 60 dB down, well below G.711's own noise) at that Nyquist frequency, so nothing
 * above it folds back into the band when decimating, and no images appear above it when
 * interpolating. A steeper or deeper filter costs taps on every sample of every SIP leg:
 * test/bench/mixer.ts shows what this one costs. The input history and the output phase carry
 * over between calls, so frames join without clicks; the delay is half the prototype's length at
 * the common rate (about 2.3 ms for 48000 ↔ 8000, 1.1 ms for 48000 ↔ 16000).
 */

const STOPBAND_DB = 60;
const PASSBAND_EDGE = 0.8;
/** Beyond this up- or down-sampling factor the prototype filter grows unreasonably long. */
const MAX_FACTOR = 48;

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/** Modified Bessel function of the first kind, order 0 (power series). */
function besselI0(x: number): number {
  let sum = 1;
  let term = 1;
  const quarterSquare = (x * x) / 4;
  for (let k = 1; term > sum * 1e-12; k++) {
    term *= quarterSquare / (k * k);
    sum += term;
  }
  return sum;
}

/** Kaiser-windowed sinc low-pass at `rate`, unity gain at DC (Kaiser's design formulas). */
function lowPass(rate: number, cutoffHz: number, transitionHz: number): Float64Array {
  const beta = 0.1102 * (STOPBAND_DB - 8.7);
  const length = Math.ceil((STOPBAND_DB - 7.95) / (2.285 * ((2 * Math.PI * transitionHz) / rate))) | 1;
  const taps = new Float64Array(length);
  const middle = (length - 1) / 2;
  const normalisedCutoff = (2 * cutoffHz) / rate;
  let sum = 0;
  for (let n = 0; n < length; n++) {
    const t = n - middle;
    const sinc = t === 0 ? 1 : Math.sin(Math.PI * normalisedCutoff * t) / (Math.PI * normalisedCutoff * t);
    const ratio = t / middle;
    const window = besselI0(beta * Math.sqrt(1 - ratio * ratio)) / besselI0(beta);
    taps[n] = sinc * window;
    sum += taps[n]!;
  }
  for (let n = 0; n < length; n++) taps[n] = taps[n]! / sum;
  return taps;
}

export class Resampler {
  readonly fromRate: number;
  readonly toRate: number;
  readonly #up: number;
  readonly #down: number;
  /** #phases[φ][j] = L·h[φ + j·L]: the prototype split into L polyphase branches of #branchLength taps. */
  readonly #phases: Float32Array[];
  readonly #branchLength: number;
  /** The last #branchLength − 1 inputs, then the current call's input. */
  #buffer: Float32Array;
  /** Position of the next output on the common-rate grid, relative to the current call's first input. */
  #position = 0;

  constructor(fromRate: number, toRate: number) {
    if (!Number.isInteger(fromRate) || !Number.isInteger(toRate) || fromRate <= 0 || toRate <= 0) {
      throw new RangeError(`resampler rates must be positive integers, got ${fromRate} → ${toRate}`);
    }
    const divisor = gcd(fromRate, toRate);
    this.fromRate = fromRate;
    this.toRate = toRate;
    this.#up = toRate / divisor;
    this.#down = fromRate / divisor;
    if (this.#up > MAX_FACTOR || this.#down > MAX_FACTOR) {
      throw new RangeError(`resampling ${fromRate} → ${toRate} needs a factor above ${MAX_FACTOR}`);
    }
    const nyquist = Math.min(fromRate, toRate) / 2;
    // Equal rates copy: a one-tap prototype keeps the fields uniform.
    const prototype = fromRate === toRate
      ? Float64Array.of(1)
      : lowPass(fromRate * this.#up, ((1 + PASSBAND_EDGE) / 2) * nyquist, (1 - PASSBAND_EDGE) * nyquist);
    this.#branchLength = Math.ceil(prototype.length / this.#up);
    this.#phases = Array.from({ length: this.#up }, (_, phase) => {
      const branch = new Float32Array(this.#branchLength);
      for (let j = 0; j < this.#branchLength; j++) branch[j] = this.#up * (prototype[phase + j * this.#up] ?? 0);
      return branch;
    });
    this.#buffer = new Float32Array(this.#branchLength - 1 + 960);
  }

  /** Resamples one block; the output length follows the ratio (960 in at 48 kHz → 160 out at 8 kHz). */
  process(pcm: Int16Array): Int16Array {
    if (this.#up === this.#down) return pcm.slice();
    const history = this.#branchLength - 1;
    if (this.#buffer.length < history + pcm.length) {
      const grown = new Float32Array(history + pcm.length);
      grown.set(this.#buffer.subarray(0, history));
      this.#buffer = grown;
    }
    const buffer = this.#buffer;
    buffer.set(pcm, history);

    const up = this.#up;
    const down = this.#down;
    const end = pcm.length * up;
    const out = new Int16Array(Math.max(0, Math.ceil((end - this.#position) / down)));
    const taps = this.#branchLength;
    let position = this.#position;
    for (let k = 0; k < out.length; k++, position += down) {
      const phase = this.#phases[position % up]!;
      // The newest input this output sees is buffer[history + floor(position / up)].
      const newest = history + Math.floor(position / up);
      let acc = 0;
      for (let j = 0; j < taps; j++) acc += phase[j]! * buffer[newest - j]!;
      const rounded = Math.round(acc);
      out[k] = rounded > 32767 ? 32767 : rounded < -32768 ? -32768 : rounded;
    }
    this.#position = position - end;
    buffer.copyWithin(0, pcm.length, pcm.length + history);
    return out;
  }
}
