import * as headers from "./headers.js"
import * as httpDate from "./httpDate.js"
import * as serverHint from "./serverHint.js"
import { detached } from "./detach.js"

const SECOND = 1000

/**
 * What a server's `Date` headers tell of its clock less ours (milliseconds): each `Date` is at most the server's time
 * when its answer arrived (`offsetLow`), and more than it less a second when the request left (`offsetHigh`: `Date`
 * is rounded down). Each answer narrows them; infinite while nothing is known.
 */
export interface ServerClock {
  offsetLow: number
  offsetHigh: number
}

/** A clock nothing is known of yet. */
export const unknown = (): ServerClock => ({ offsetLow: -Infinity, offsetHigh: Infinity })

/** How wide the bounds are, in milliseconds (Infinity while nothing is known). */
export const uncertainty = (clock: ServerClock): number => clock.offsetHigh - clock.offsetLow

/** An answer's `Date` less when it arrived, when it has a valid `Date`. */
export const dateOffset = (record: headers.HeaderRecord, receivedAt: number): number | undefined => {
  const date = headers.get(record, "date")
  if (date === undefined) return undefined
  const at = httpDate.parse(date, receivedAt)
  return Number.isNaN(at) ? undefined : at - receivedAt
}

/**
 * Narrows the bounds with one answer: its `Date` less when it arrived (`offset`), and when its request left. Bounds
 * that disagree with it (the server's clock was set, or another server answered) start again from it.
 */
export const learn = (clock: ServerClock, offset: number, sentAt: number, receivedAt: number): void => {
  const low = offset
  const high = offset + (receivedAt - sentAt) + SECOND
  if (Math.max(clock.offsetLow, low) > Math.min(clock.offsetHigh, high)) {
    clock.offsetLow = low
    clock.offsetHigh = high
  } else {
    clock.offsetLow = Math.max(clock.offsetLow, low)
    clock.offsetHigh = Math.min(clock.offsetHigh, high)
  }
}

/**
 * How much sooner than measured an instant the server gave against an answer's `Date` (an HTTP-date, an epoch reset;
 * measured as instant − Date from when it arrived) may be read: what the bounds tell of the second that `Date`
 * dropped, less than a second, and never before the server's instant.
 */
export const correction = (clock: ServerClock, offset: number): number =>
  clock.offsetLow > clock.offsetHigh ? 0 : Math.min(SECOND - 1, Math.max(0, clock.offsetLow - offset))

/**
 * Whether a refusal shows the bounds wrong: they said the server's clock had reached `instant` (the one the refusal
 * names, on the server's clock) when the request left at `sentAt`, and the server, which refused it, had not. A clock
 * was set meanwhile (ours or the server's: an answer in flight across the step carries a `Date` the bounds cannot
 * place), and bounds read from both sides of the step would read every later instant early.
 */
export const contradicted = (clock: ServerClock, instant: number, sentAt: number): boolean =>
  sentAt + clock.offsetLow >= instant

/** Forgets what the bounds said: they are learned again from the next answers. */
export const forget = (clock: ServerClock): void => {
  clock.offsetLow = -Infinity
  clock.offsetHigh = Infinity
}

/**
 * Bounds narrower than this (ms) are enough: a success's `Date` is not read any more. Until then, one success in this
 * long is read (answers that come together tell the same; a burst costs one read). Every instant read against `Date`
 * may be late by up to the bounds' width.
 */
const NARROW_ENOUGH_MILLIS = 10

interface Learned extends ServerClock {
  /** When these bounds started: they are read until `relearnMillis` after (a clock may be set meanwhile). */
  since: number
}

/** An origin's bounds in use, and the ones that take over from them, learned from every answer since half-way. */
interface Origin {
  current: Learned
  next: Learned | undefined
  /** When the last answer was read. */
  readAt: number
}

const fresh = (since: number): Learned => ({ offsetLow: -Infinity, offsetHigh: Infinity, since })

/**
 * The clocks of the origins a client talks to, learned from their answers' `Date`: at most `maxOrigins` (the oldest
 * goes first). The bounds read are never older than `relearnMillis`, so a server clock set back meanwhile is not read
 * with bounds learned before: half-way through, bounds that will take over start learning beside them, and take over
 * with what they learned since (so a burst of failures all stamped with one `Date` right after the change does not
 * find bounds a second wide).
 */
export class Clocks {
  private readonly clocks = new Map<string, Origin>()
  constructor(readonly maxOrigins = 1_000, readonly relearnMillis = 60_000) {}

  /** Whether an answer from the origin is worth reading for its `Date`: a failure always is, a success while learning. */
  wants(origin: string, status: number, now: number): boolean {
    if (status >= 400) return true
    const known = this.clocks.get(origin)
    if (known === undefined) return true
    const age = now - known.current.since
    if (age >= this.relearnMillis) return true
    const learning = uncertainty(known.current) > NARROW_ENOUGH_MILLIS ||
      (age >= this.relearnMillis / 2 && (known.next === undefined || uncertainty(known.next) > NARROW_ENOUGH_MILLIS))
    return learning && now - known.readAt >= NARROW_ENOUGH_MILLIS
  }

  /**
   * Learns from an answer of the origin (its request left at `sentAt`) and, for a failure whose hint is an instant
   * given against its `Date`, returns that instant as the clock learned reads it, when that is sooner. A failure that
   * the bounds say came too late to be refused (its request left after the server's clock reached that instant) shows
   * them wrong: they are forgotten first (and those that would take over), and learned again from this answer on.
   */
  observe(
    origin: string,
    status: number,
    record: headers.HeaderRecord,
    sentAt: number,
    receivedAt: number
  ): number | undefined {
    if (status < 400) {
      this.learn(origin, record, sentAt, receivedAt)
      return undefined
    }
    const offset = dateOffset(record, receivedAt)
    if (offset === undefined) return undefined
    const reading = serverHint.read(record, receivedAt)
    const hint = reading.hint !== undefined && serverHint.fromDate(reading, record) ? reading.hint : undefined
    // A refusal of a request the bounds said left after the server's clock reached its instant: they are wrong.
    const known = this.clocks.get(origin)
    if (hint !== undefined && known !== undefined && contradicted(known.current, hint.at + offset, sentAt)) {
      forget(known.current)
      known.next = undefined
    }
    const sooner = correction(this.learnOffset(origin, offset, sentAt, receivedAt), offset)
    return hint !== undefined && sooner > 0 ? hint.at - sooner : undefined
  }

  /**
   * Learns from an answer of the origin (its request left at `sentAt`); returns how much sooner an instant it gave
   * against its `Date` may be read.
   */
  learn(origin: string, record: headers.HeaderRecord, sentAt: number, receivedAt: number): number {
    const offset = dateOffset(record, receivedAt)
    return offset === undefined ? 0 : correction(this.learnOffset(origin, offset, sentAt, receivedAt), offset)
  }

  /** Learns from one answer; answers the bounds to read. */
  private learnOffset(origin: string, offset: number, sentAt: number, receivedAt: number): ServerClock {
    let known = this.clocks.get(origin)
    if (known === undefined) {
      if (this.clocks.size >= this.maxOrigins) {
        const oldest = this.clocks.keys().next()
        if (oldest.done !== true) this.clocks.delete(oldest.value)
      }
      known = { current: fresh(receivedAt), next: undefined, readAt: receivedAt }
      // (A copy of the origin that does not keep the URL it was cut from alive.)
      this.clocks.set(detached(origin), known)
    }
    if (receivedAt - known.current.since >= this.relearnMillis) {
      // The bounds in use are too old: those learned since half-way take over (fresh ones if none was read since).
      known.current = known.next !== undefined && receivedAt - known.next.since < this.relearnMillis
        ? known.next
        : fresh(receivedAt)
      known.next = undefined
      // (The origin goes to the end of the eviction order: it is in use.)
      this.clocks.delete(origin)
      this.clocks.set(detached(origin), known)
    }
    if (known.next === undefined && receivedAt - known.current.since >= this.relearnMillis / 2) {
      known.next = fresh(receivedAt)
    }
    known.readAt = receivedAt
    learn(known.current, offset, sentAt, receivedAt)
    if (known.next !== undefined) learn(known.next, offset, sentAt, receivedAt)
    return known.current
  }
}
