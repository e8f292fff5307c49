// Levels are smoothed over about 300 ms (at 50 frames a second) so a cough does not switch video,
// and a new speaker must lead for HOLD_FRAMES before the switch.
const SMOOTHING = 0.15;
const HOLD_FRAMES = 25;
/** Below this smoothed level (the mixer's RMS in dBov) nobody is speaking. */
const SPEECH_FLOOR_DBOV = -50;

/** Who is speaking, from the mixer's per-participant levels, and who spoke before. */
export class ActiveSpeaker {
  private readonly smoothed = new Map<string, number>();
  /** Speakers, the most recent first. */
  private readonly recent: string[] = [];
  private leader: string | undefined;
  private leadFrames = 0;

  /** Takes one frame's levels; true when the active speaker changed. */
  update(levels: ReadonlyMap<string, number>): boolean {
    let loudest: string | undefined;
    let loudestLevel = SPEECH_FLOOR_DBOV;
    for (const [id, level] of levels) {
      const previous = this.smoothed.get(id) ?? level;
      const value = previous + SMOOTHING * (level - previous);
      this.smoothed.set(id, value);
      if (value > loudestLevel) {
        loudest = id;
        loudestLevel = value;
      }
    }
    if (loudest === undefined || loudest === this.recent[0]) {
      this.leadFrames = 0;
      return false;
    }
    this.leadFrames = loudest === this.leader ? this.leadFrames + 1 : 1;
    this.leader = loudest;
    if (this.leadFrames < HOLD_FRAMES) return false;
    this.dropRecent(loudest);
    this.recent.unshift(loudest);
    this.leadFrames = 0;
    return true;
  }

  /** The most recent speaker among `candidates`, else the first candidate. */
  pick(candidates: readonly string[]): string | undefined {
    return this.recent.find((id) => candidates.includes(id)) ?? candidates[0];
  }

  /** The participant left. */
  forget(id: string): void {
    this.dropRecent(id);
    this.smoothed.delete(id);
    if (this.leader === id) this.leader = undefined;
  }

  private dropRecent(id: string): void {
    const at = this.recent.indexOf(id);
    if (at >= 0) this.recent.splice(at, 1);
  }
}
