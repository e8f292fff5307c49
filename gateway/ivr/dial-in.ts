import type { CallTarget, DigitMethod, Leg } from '../calls/index.js';
import type { JoinResult, MeetingRecord } from '../fabric/index.js';
import type { PinAttemptResult } from '../policy/index.js';
import { PROMPT_SAMPLE_RATE, type PromptName, type Prompts } from '../prompts/index.js';
import { DigitCollector } from './digit-collector.js';
import { PromptPlayer } from './prompt-player.js';

/** How long a caller may take: between two digits, and for a whole entry. */
export interface EntryTiming {
  interDigitMs: number;
  overallMs: number;
}

export const DEFAULT_ENTRY_TIMING: EntryTiming = { interDigitMs: 5_000, overallMs: 20_000 };

/** Tries of meeting ID and PIN per call before the goodbye (issue 4: three). */
export const ENTRY_TRIES = 3;

/**
 * Silence after a last prompt, before the BYE: a receiver's jitter buffer gives up its last
 * packets only when later ones push them out.
 */
const FAREWELL_TAIL = new Int16Array(PROMPT_SAMPLE_RATE / 2);
const MAX_DIAL_IN_DIGITS = 16;
const MAX_PIN_DIGITS = 12;

export interface DialInOptions {
  meetings: {
    get(id: string): MeetingRecord | undefined;
    findByDialIn(digits: string): MeetingRecord | undefined;
  };
  /** Joins a leg to a meeting (the fabric's SIP adapter); refused when it is gone or requires encryption. */
  join(leg: Leg, meetingId: string): JoinResult;
  pins: { attempt(meetingId: string | undefined, pin: string, source: string): Promise<PinAttemptResult> };
  prompts: Prompts;
  /** A leg was refused because the meeting requires encryption. */
  policyRefused(leg: Leg): void;
  /** A fault of ours in a dial-in; the leg is hung up. */
  failed(err: unknown): void;
  timing?: EntryTiming;
}

/**
 * Dial-in for SIP and phone legs: the IVR that asks a phone caller for meeting ID and PIN, the
 * PIN step for a call that names its meeting, and the spoken refusal when the meeting's policy
 * requires encryption the leg does not have. Unknown IDs and wrong PINs sound the same.
 */
export class DialIn {
  private readonly timing: EntryTiming;

  constructor(private readonly options: DialInOptions) {
    this.timing = options.timing ?? DEFAULT_ENTRY_TIMING;
  }

  /** The IVR: meeting ID, then PIN. */
  ivr(): CallTarget {
    return { attach: (leg) => this.start(leg, undefined) };
  }

  /** A call to one meeting (by SIP URI or a trunk's DID): the PIN when it has one, then in. */
  meeting(meetingId: string): CallTarget | undefined {
    return this.options.meetings.get(meetingId) ? { attach: (leg) => this.start(leg, meetingId) } : undefined;
  }

  private start(leg: Leg, meetingId: string | undefined): void {
    this.run(leg, meetingId).catch((err: unknown) => {
      this.options.failed(err);
      leg.hangup('local-hangup');
    });
  }

  private async run(leg: Leg, fixedMeetingId: string | undefined): Promise<void> {
    const conversation = new Conversation(leg, this.options.prompts, this.timing);
    try {
      const meetingId = await this.enter(conversation, fixedMeetingId);
      if (leg.isEnded) return;
      if (meetingId === undefined) {
        await conversation.sayLast('goodbye');
        return leg.hangup('entry-failed');
      }
      conversation.close();
      const joined = this.options.join(leg, meetingId);
      if (joined.ok) return;
      if (joined.reason === 'not-found') return leg.hangup('meeting-ended');
      leg.meetingId = meetingId;
      this.options.policyRefused(leg);
      await new Conversation(leg, this.options.prompts, this.timing).sayLast('encryption-required');
      leg.hangup('policy-refused');
    } finally {
      conversation.close();
    }
  }

  /** The meeting the caller proved it may join, or undefined after the last try. */
  private async enter(conversation: Conversation, fixedMeetingId: string | undefined): Promise<string | undefined> {
    const { meetings, pins } = this.options;
    const { peer } = conversation.leg;
    // Behind a trunk every caller shares the carrier's address: count per caller, not per carrier.
    const source = peer.trunk ? `${peer.trunk} ${peer.name}` : (peer.address ?? 'unknown');
    for (let attempt = 1; attempt <= ENTRY_TRIES && !conversation.leg.isEnded; attempt++) {
      let record: MeetingRecord | undefined;
      if (fixedMeetingId !== undefined) record = meetings.get(fixedMeetingId);
      else {
        const typed = await conversation.ask(attempt === 1 ? ['welcome'] : ['invalid', 'welcome'], MAX_DIAL_IN_DIGITS);
        if (typed === undefined) continue;
        record = meetings.findByDialIn(typed);
      }
      if (record && !record.hasPin) return record.id;
      const retry = fixedMeetingId !== undefined && attempt > 1;
      const pin = await conversation.ask(retry ? ['invalid', 'enter-pin'] : ['enter-pin'], MAX_PIN_DIGITS);
      if (pin === undefined) continue;
      if ((await pins.attempt(record?.id, pin, source)) === 'ok' && record) return record.id;
    }
    return undefined;
  }
}

/** Prompts out and digits in on one leg, with barge-in: a digit typed stops the prompt. */
class Conversation {
  private readonly player: PromptPlayer | undefined;
  private readonly digits = new DigitCollector();
  private readonly stopListening: () => void;
  /** Carriers may send a digit both as RFC 4733 and as INFO: only the first method heard counts. */
  private method: DigitMethod | undefined;

  constructor(
    readonly leg: Leg,
    private readonly prompts: Prompts,
    private readonly timing: EntryTiming,
  ) {
    const audio = leg.streams.find((stream) => stream.kind === 'audio');
    this.player = audio && new PromptPlayer(audio);
    this.stopListening = leg.onDigit((digit, method) => {
      this.method ??= method;
      if (method === this.method) this.digits.push(digit);
    });
    this.digits.onFirstDigit(() => this.player?.stop());
    leg.onEnded(() => this.close());
  }

  async say(name: PromptName): Promise<void> {
    await this.player?.play(this.prompts.get(name));
  }

  /** A prompt the call ends with: played out, with a moment for the far end to play its last packets. */
  async sayLast(name: PromptName): Promise<void> {
    // The caller must hear why the call ends: no barge-in.
    this.stopListening();
    await this.say(name);
    if (!this.leg.isEnded) await this.player?.play(FAREWELL_TAIL);
  }

  /** Plays the prompts, then collects digits up to `#`; undefined when nothing was typed. */
  async ask(names: PromptName[], maxDigits: number): Promise<string | undefined> {
    for (const name of names) {
      if (this.leg.isEnded || this.digits.hasTyped) break;
      await this.say(name);
    }
    if (this.leg.isEnded) return undefined;
    const typed = await this.digits.collect({ maxDigits, ...this.timing });
    return typed === '' ? undefined : typed;
  }

  close(): void {
    this.stopListening();
    this.digits.close();
    this.player?.close();
  }
}
