/** Bookkeeping for RTP/RTCP port pairs (RTP even, RTCP the odd port above) in a configured range. */
import { RtpError } from './rtp-error.js';

export class PortAllocator {
  private readonly inUse = new Set<number>();
  private readonly firstPort: number;
  private readonly pairCount: number;
  // Round-robin, so a port just released is not handed out again while stray packets for
  // the old call may still arrive.
  private cursor = 0;

  constructor(
    readonly min: number,
    readonly max: number,
  ) {
    if (!Number.isInteger(min) || !Number.isInteger(max) || min < 1024 || max > 65535 || min > max) {
      throw new RangeError(`RTP port range ${min}-${max} must be integers within 1024-65535, min ≤ max`);
    }
    this.firstPort = min % 2 === 0 ? min : min + 1;
    this.pairCount = Math.max(0, Math.floor((max - this.firstPort + 1) / 2));
    if (this.pairCount === 0) throw new RangeError(`RTP port range ${min}-${max} holds no even/odd port pair`);
  }

  /** Number of pairs the range holds. */
  get capacity(): number {
    return this.pairCount;
  }

  get allocatedCount(): number {
    return this.inUse.size;
  }

  /** Reserves the next free pair and returns its (even) RTP port; throws RtpError when none is left. */
  reserve(): number {
    for (let tried = 0; tried < this.pairCount; tried++) {
      const port = this.firstPort + 2 * this.cursor;
      this.cursor = (this.cursor + 1) % this.pairCount;
      if (!this.inUse.has(port)) {
        this.inUse.add(port);
        return port;
      }
    }
    throw new RtpError(`no free RTP port pair in ${this.min}-${this.max}`);
  }

  release(rtpPort: number): void {
    this.inUse.delete(rtpPort);
  }
}
