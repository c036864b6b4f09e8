/**
 * The coordinator's state machine: what requests to an API may go now, learned from its answers. Plain values and a
 * clock reading in, a decision out; nothing here imports `effect`, so any runtime can drive it.
 *
 * The unit of shared state is a bucket. Every request belongs to a partition (its origin, plus a key of the user's
 * such as a hash of the credential) and, inside it, to a bucket: the one the server named for its route, else the
 * partition's own. A partition holds what applies to all of its requests (a cooldown the server gave without naming
 * a bucket, the health of its routes); a bucket holds a cooldown it was told, the window and quota the rate-limit
 * headers describe, and a send rate inferred when the server throttles without saying how much.
 *
 * @internal
 */
import * as serverClock from "./serverClock.js"
import { detached } from "./detach.js"

const SECOND = 1_000
/** An opener sent this long after the window it follows ended still went at its turn (not after a pause). */
const TURN = 100
const RATE_DECREASE = 0.7
/** The first inferred rate, per second, when the server accepted less over the last second. */
const FIRST_RATE = 4
/** After a cut, the rate is back just under the rate refused after this many accepted answers (then grows past it). */
const RECOVERY_ANSWERS = 16
/**
 * A rate the server refused is past its limit: growth after the cut flattens this much below it, so that the few
 * milliseconds our timers and the network move a request by do not push the pacing over the limit again at once.
 */
const RATE_MARGIN = 0.97
/**
 * A throttled request's retry waits for its turn at an inferred rate, with no backoff of its own, only while that rate
 * spaces requests at least this far apart (100 per second): a faster pace would hold it for next to nothing, and a
 * request the limiter refused, sent again at once, would meet it again.
 */
const PACED_RETRY_MIN_MILLIS = 10

/**
 * How long before a reset the server told in whole seconds (`resetAt`, measured when its answer came, `now`) the next
 * window's opener may go. The reset is late by up to what the server's clock is not known to (`unknown`, at most a
 * second). The answer of a window's first request bounds the end more closely: a window of a length not known most
 * likely lasts whole seconds from its first request (as servers count windows), so the opener goes the fewest whole
 * seconds after the request left (`sentAt`) that the reset allows (one request: if the window has not ended, its
 * answer says until when).
 * @internal
 */
export const openerLead = (
  resetAt: number,
  now: number,
  sentAt: number,
  unknown: number,
  firstOfWindow: boolean
): number => {
  if (!firstOfWindow) return Math.max(0, Math.min(unknown, resetAt - now))
  // (The server counted the request between its sending and this answer.)
  const seconds = Math.max(1, Math.floor((resetAt - unknown - SECOND - sentAt) / SECOND) + 1)
  return Math.max(0, Math.min(2 * SECOND, resetAt - now - seconds * SECOND))
}

/**
 * The route of a URL: its path without query or fragment, with each segment that names one item among many written
 * ":". Answers teach which bucket a route is in, and `/items/1` tells of `/items/2`.
 * @internal
 */
export const routeOf = (url: string): string => {
  const scheme = url.indexOf("://")
  let start = scheme < 0 ? 0 : scheme + 3
  while (start < url.length && !endsPath(url.charCodeAt(start)) && url.charCodeAt(start) !== 47) start++
  let route = ""
  while (start < url.length && url.charCodeAt(start) === 47 /* / */) {
    let stop = start + 1
    while (stop < url.length && url.charCodeAt(stop) !== 47 && !endsPath(url.charCodeAt(stop))) stop++
    const segment = url.slice(start, stop)
    route += isItem(segment) ? "/:" : segment
    start = stop
  }
  return route === "" ? "/" : route
}

/**
 * A path segment (with its leading "/") that names one item among many: a number, an id of hex digits and dashes
 * (a UUID, a hash), one of four characters or more that is mostly digits, or one longer than 32 characters. `v1`,
 * `v10` or `r2d2-tools` stay names.
 */
const isItem = (segment: string): boolean => isItemAt(segment, 1, segment.length)

/** Whether `url` from `start` (after a segment's "/") to `stop` names one item among many (see `isItem`). */
const isItemAt = (url: string, start: number, stop: number): boolean => {
  const length = stop - start
  if (length === 0) return false
  if (length > 32) return true
  let digits = 0
  let hex = true
  for (let i = start; i < stop; i++) {
    const c = url.charCodeAt(i)
    if (c >= 48 && c <= 57) digits++
    else if (!((c >= 97 && c <= 102) || (c >= 65 && c <= 70) || c === 45)) hex = false
  }
  return digits === length || (hex && digits > 0 && length >= 8) || (length >= 4 && 2 * digits > length)
}

/**
 * Whether the rest of `url` from `start` is one path segment (no "/", "?" or "#") that names one item among many:
 * then its route is that of any URL with the same start and another item at its end.
 * @internal
 */
export const endsWithItem = (url: string, start: number): boolean => {
  for (let i = start; i < url.length; i++) {
    const c = url.charCodeAt(i)
    if (c === 47 || endsPath(c)) return false
  }
  return isItemAt(url, start, url.length)
}

/**
 * Whether the server accepted a request, by its answer's status: anything below 500 but a throttle (429) or a timeout
 * (408). A client error is the caller's mistake, not the server refusing work.
 * @internal
 */
export const isAccepted = (status: number): boolean => status < 500 && status !== 429 && status !== 408

/** "?" and "#" end a path. */
const endsPath = (c: number) => c === 63 || c === 35

/** Requests per window, told by the user for an origin. @internal */
export interface Limit {
  readonly requests: number
  readonly window: number
  /** At most this many at once; the others are spaced evenly over the window (nginx's `limit_req` `burst`). */
  readonly burst: number
  /**
   * The server's windows follow each other back to back (a counter per fixed interval): once an answer has bounded a
   * window's end, each next window opens at the last one's end and lasts a window from its first request, with no
   * answer to wait for (until a 429 says otherwise). Otherwise a window may start with the first request after the
   * last one expired, and each window's end is measured again from its first answer.
   */
  readonly backToBack: boolean
}

/** @internal */
export interface Config {
  /** A new bucket lets one request go first and ramps up from its answer. */
  readonly cautiousStart: boolean
  /** Known limits, by origin. */
  readonly limits: ReadonlyMap<string, Limit>
  /** A cooldown longer than this is not shared: only the call that was told waits for it. */
  readonly maxSharedCooldown: number
  /** Adaptive throttling of retries (Google SRE): K, the requests seen before it starts, and its window. */
  readonly retryThrottle: { readonly k: number; readonly minRequests: number; readonly window: number } | undefined
  /** A partition unused for this long is dropped, whatever its state. */
  readonly ttl: number
  /** At most this many partitions; the least recently used go first. */
  readonly maxPartitions: number
}

/** Why a request is held. @internal */
export type HoldReason = "cooldown" | "pacing" | "learning"

/** What kind of attempt asks to go: a retry after a backoff is subject to the retry throttle. @internal */
export type Attempt = "first" | "retry" | "retry-after-hint"

/** @internal */
export interface Request {
  readonly partition: string
  readonly origin: string
  readonly route: string
  readonly attempt: Attempt
}

/** A request admitted, and what the machine needs to hear of it. @internal */
export class Permit {
  /** An answer was observed (or the permit handed back): it no longer counts as in flight. */
  settled = false
  constructor(
    readonly partition: string,
    readonly bucket: string,
    readonly route: string,
    readonly generation: number,
    /** The one request that goes first and whose answer the others wait for. */
    readonly opener: boolean,
    /** The route's first request while its bucket was held: it tells whether the route is in that bucket. */
    readonly routeProbe: boolean,
    readonly sentAt: number,
    readonly attempt: Attempt,
    /** The machine wants even a successful answer (its headers may pace the bucket). */
    readonly learn: boolean
  ) {}
  /** The instant its answer asked to come back at, as the machine reads it (with the server's clock it learned). */
  hintAt: number | undefined = undefined
  /**
   * Its answer was a throttle without a hint from a limiter, and the machine now paces the bucket to a rate it
   * inferred, slow enough to hold the next request (at most 100 per second): a retry waits for its turn at that
   * pace, with no backoff of its own.
   */
  paced = false
  /**
   * The least time there can have been between the arrival of the bucket's previous request at the server and this
   * one's: from that request's answer (it had arrived by then) to this one's leaving; 0 when that request was still on
   * its way (the two may have arrived together: a stall of this process between deciding a request and writing it
   * sends requests decided apart at once). What a limiter spacing requests saw was no shorter.
   */
  gap = Infinity
}

/** A request that may not go yet: until when (undefined: until news), why, and whether the retry throttle refused it. */
export class Hold {
  constructor(
    readonly until: number | undefined,
    readonly reason: HoldReason,
    /** The retry was refused outright (retry throttle): do not wait, stop. */
    readonly refused: boolean = false,
    /** The hold ends with an answer to a request already sent; `until` only bounds the wait for it. */
    readonly answer: boolean = false,
    /**
     * The calls held until the instant may go spread over a little time after it (`releaseSpread`): a herd at a
     * window's reset. Not so for a paced rate, which lets one request go at a time.
     */
    readonly spread: boolean = true
  ) {}
  /** Until an answer to a request already sent; `until` only bounds the wait for it. */
  static forAnswer(until: number | undefined, reason: HoldReason): Hold {
    return new Hold(until, reason, false, true)
  }
  /** A paced rate's next slot: one request at a time, on time, without the release spread. */
  static paced(until: number): Hold {
    return new Hold(until, "pacing", false, false, false)
  }
  /** A retry the retry budget refused. */
  static refusedRetry(now: number): Hold {
    return new Hold(now, "pacing", true)
  }
}

/** What an answer said, read once from its headers. @internal */
export interface Answer {
  readonly status: number
  readonly receivedAt: number
  /** The instant the server asked to come back at (Retry-After and the like), when it gave one. */
  readonly hintAt: number | undefined
  /** Rate-limit fields, when the answer had them. */
  readonly rateLimit:
    | {
      readonly remaining: number
      readonly resetAt: number
      readonly limit: number | undefined
      /** The window's length, when the answer gave it (a `RateLimit-Policy` `w`). */
      readonly windowMillis?: number | undefined
    }
    | undefined
  /** The bucket the server named, when it named one. */
  readonly bucket: string | undefined
  /** The response's `Date` less when it arrived (local clock), when it had a valid `Date`. */
  readonly serverOffset: number | undefined
  /** `hintAt` and `rateLimit.resetAt` were measured against `Date` (an HTTP-date, an epoch reset), not given as delays. */
  readonly hintFromDate: boolean
  readonly resetFromDate: boolean
}

/** How a permit ended without an observed answer. @internal */
export type Outcome = "success" | "failure" | "interrupted"

/** The first request's answer is awaited this long before another request may go instead. @internal */
export const OPENER_PATIENCE_MILLIS = 5_000

/** An inferred rate is forgotten once the server has not throttled for this long. @internal */
export const INFERRED_RATE_MEMORY_MILLIS = 30_000

/** A cautious start (of a bucket or of a route) has ramped up once this many answers were accepted. @internal */
export const RAMP_ANSWERS = 16

/** How long after a refusal without any hint the partition's new routes still start cautiously. @internal */
export const QUIET_LIMITER_MEMORY_MILLIS = 60_000

/** At most this many routes and buckets are remembered per partition. @internal */
export const MAX_ROUTES = 1_024

/** Without rate-limit headers seen, one successful answer in this many is read for them. @internal */
export const LEARN_EVERY = 16

/** The slowest inferred rate, requests per second. @internal */
export const MIN_RATE = 0.5

/** The fastest inferred rate, requests per second: past it, pacing holds nothing back. @internal */
export const MAX_RATE = 100_000

/** The short window of the retry budget (see `refuses`). @internal */
export const RECENT_HEALTH_MILLIS = 2_000

/** Counts over a sliding window: the current slot plus a weighted share of the previous one. */
class Counts {
  start = 0
  requests = 0
  accepts = 0
  previousRequests = 0
  previousAccepts = 0
  reset(now: number): void {
    this.start = now
    this.requests = 0
    this.accepts = 0
    this.previousRequests = 0
    this.previousAccepts = 0
  }
  roll(now: number, window: number): number {
    const elapsed = now - this.start
    if (elapsed >= window) {
      const adjacent = elapsed < 2 * window
      this.previousRequests = adjacent ? this.requests : 0
      this.previousAccepts = adjacent ? this.accepts : 0
      this.requests = 0
      this.accepts = 0
      this.start = adjacent ? this.start + window : now
    }
    return 1 - (now - this.start) / window
  }
  /** Requests answered over the sliding window. */
  answered(now: number, window: number): number {
    const weight = this.roll(now, window)
    return this.requests + this.previousRequests * weight
  }
  /** Requests answered but not accepted over the sliding window. */
  refused(now: number, window: number): number {
    const weight = this.roll(now, window)
    return this.requests - this.accepts + (this.previousRequests - this.previousAccepts) * weight
  }
  /** The chance that a retry is refused: max(0, (requests - k x accepts) / (requests + 1)). */
  refusal(now: number, window: number, k: number, minRequests: number): number {
    const weight = this.roll(now, window)
    const requests = this.requests + this.previousRequests * weight
    if (requests < minRequests) return 0
    const accepts = this.accepts + this.previousAccepts * weight
    return Math.max(0, (requests - k * accepts) / (requests + 1))
  }
}

/** Answers over the last second (a fixed window, with the previous one for a smoother measure). */
class Recent {
  start = 0
  answers = 0
  accepts = 0
  throttles = 0
  previousAccepts = 0
  reset(now: number): void {
    this.start = now
    this.answers = 0
    this.accepts = 0
    this.throttles = 0
    this.previousAccepts = 0
  }
  roll(now: number): void {
    const elapsed = now - this.start
    if (elapsed < SECOND) return
    this.previousAccepts = elapsed < 2 * SECOND ? this.accepts : 0
    this.answers = 0
    this.accepts = 0
    this.throttles = 0
    this.start = elapsed < 2 * SECOND ? this.start + SECOND : now
  }
  /** Accepted answers per second, measured over about the last second. */
  acceptRate(now: number): number {
    this.roll(now)
    return this.accepts + this.previousAccepts * (1 - (now - this.start) / SECOND)
  }
}

class Route {
  /** The bucket the route's answers named ("" for the partition's own), or undefined: they carry no rate-limit fields. */
  bucket: string | undefined = undefined
  /** The route has answered at least once. */
  known: boolean = false
  /** A probe of the route is out since this instant. */
  probeSince: number | undefined = undefined
  /** Accepted answers while the route ramps up after its probe (Infinity when done), and its requests in flight. */
  ramp: number = 0
  inFlight: number = 0
  /** When its last request left. */
  lastSentAt: number = 0
  health = new Counts()
  /** Its accepted answers over the last second: what the server took of this route, whatever other routes got. */
  recent = new Recent()
}

class Bucket {
  cooldownUntil: number = 0
  /** Quota left in the current window; undefined: not paced by a window. */
  allowance: number | undefined = undefined
  /** When the current window ends, as far as we know (an upper bound: never early). */
  windowEnd: number = 0
  /**
   * How much before `windowEnd` the next window's opener may go: a reset measured against `Date` is late by up to
   * what the server's clock is not known to (a second at most), so one request goes at the earliest instant the
   * server's clock may read the reset, and the others follow its answer; or the lead an earlier answer of the window
   * gave, when a later one bounded its end more closely. 0 when a throttle told the end.
   */
  openEarly: number = 0
  /** The window's length, when it is known (a configured limit): then windows follow each other without news. */
  windowMillis: number | undefined = undefined
  /** Requests per window, configured. */
  configured: number | undefined = undefined
  /**
   * The reset instant of the current window on the server's clock (when the server gave it as a date or an epoch),
   * and the windows' length learned from the resets of consecutive windows.
   */
  reset: number = 0
  learnedWindow: number | undefined = undefined
  /** A configured burst smaller than the quota: requests are spaced by this much, `burst` of them at once. */
  spacing: number | undefined = undefined
  burst: number = 0
  /** When the next request would be due if they were all spaced (GCRA's theoretical arrival time). */
  due: number = 0
  /** A configured window was moved to start no earlier than the server's first answer in it. */
  anchored: boolean = false
  /** A request went in the current configured window (the first one moved its end to a window after it). */
  started: boolean = false
  /** The user told that the server's windows follow each other back to back (see `Limit.backToBack`). */
  backToBack: boolean = false
  /**
   * The told limit's windows open with their whole quota at once: until the server refuses one with 429 (its windows
   * are not the ones told, or others share the quota), after which each window opens with one request.
   */
  quotaAtOnce: boolean = false
  /** The window's end is only bounded (a told window opened at once, before any answer of it): news may end it. */
  endUnknown: boolean = false
  /** The next window opens with one request whose answer tells the quota: its phase is not known to the millisecond. */
  opening: boolean = false
  /** The opener is out since this instant. */
  openerSince: number | undefined = undefined
  /** Counts windows: an answer to a request of an earlier window says nothing of this one. */
  generation: number = 0
  /** The generation whose end a request that spilled into the server's next window moved (-1: none). */
  spilledIn: number = -1
  /** Admitted in this generation and not answered yet. */
  inFlight: number = 0
  /**
   * Accepted answers since the bucket was made (or, idle, forgot a rate it inferred), while it ramps up (cautious
   * start); Infinity when done.
   */
  ramp: number = 0
  /** The bucket's answers have carried rate-limit fields: they, not a configured limit, say when windows open. */
  headers: boolean = false
  /** Requests per second inferred from throttling without a hint; undefined when not throttled. */
  rate: number | undefined = undefined
  /** The rate before the last cut (the rate grows back to it), when that was, and the answers accepted since. */
  rateMax: number = 0
  rateDecreasedAt: number = 0
  acceptedSinceCut: number = 0
  /** Until the first throttle after the rate was set, it grows fast (by 2 per accepted answer). */
  slowStart: boolean = false
  /** No request before this instant (inferred rate). */
  nextAt: number = 0
  /** When the last request of the bucket was sent. */
  lastSentAt: number = 0
  /** The latest request of the bucket answered (when it was sent), and when its answer came. */
  answeredSentAt: number = 0
  answeredAt: number = 0
  /** When the server last throttled this bucket without a hint. */
  throttledAt: number = 0
  /** Answers over the last second, to tell a limiter from a failing server and to set a rate from. */
  recent = new Recent()
  learnCount: number = 0
}

class Partition {
  key: string = ""
  origin: string = ""
  /** Neighbours in the order of use (an intrusive list: no `Map` iteration, which slows as entries are deleted). */
  older: Partition | undefined = undefined
  newer: Partition | undefined = undefined
  cooldownUntil: number = 0
  /**
   * Until when a new route of this partition starts cautiously (one request, then a ramp): a while after the server
   * last refused without saying anything (a limiter that speaks tells a new route what it needs in its first answers).
   */
  quietLimiterUntil: number = 0
  /** The server has said something of its limits (rate-limit fields, a hint): its limiter speaks. */
  speaks: boolean = false
  /**
   * Bounds on the server's clock less ours, from its `Date` headers: each `Date` is at most the server's time when the
   * answer arrived (low), and more than it minus a second when the request left (high). Infinite until an answer.
   */
  offsetLow: number = -Infinity
  offsetHigh: number = Infinity
  /** The partition's own bucket, and the ones the server named (made when first needed). */
  own: Bucket | undefined = undefined
  named: Map<string, Bucket> | undefined = undefined
  /** The first route seen, kept apart (most partitions have one), and the others (made when first needed). */
  firstRouteName: string | undefined = undefined
  firstRoute: Route | undefined = undefined
  routes: Map<string, Route> | undefined = undefined
  /** The route of `routes` used last (it need not move to the end of their order). */
  newestRoute: string | undefined = undefined
  readonly health = new Counts()
  /** The same over the last few seconds: a server that was healthy a minute ago and fails everything now. */
  readonly recentHealth = new Counts()
  lastUsed: number = 0
}

/** Keeps the latest request of the bucket that was answered (or ended otherwise), and when: it had arrived by then. */
const answered = (bucket: Bucket, permit: Permit, now: number): void => {
  if (permit.sentAt >= bucket.answeredSentAt) {
    bucket.answeredSentAt = permit.sentAt
    bucket.answeredAt = now
  }
}

/** @internal */
export class CoordinatorState {
  private readonly partitions = new Map<string, Partition>()
  /** The last partition dropped, and its own bucket and first route, to be made over (see `fresh`). */
  private spare: Partition | undefined
  private spareBucket: Bucket | undefined
  private spareRoute: Route | undefined
  /** The least and the most recently used partitions: the ends of their list in the order of use. */
  private oldest: Partition | undefined
  private newest: Partition | undefined

  constructor(readonly config: Config) {}

  /** How many partitions are remembered (after dropping the expired ones). */
  size(now: number): number {
    while (this.expireOldest(now)) {
      // Each expired partition goes once.
    }
    return this.partitions.size
  }

  /** Admits a request now, or says how long to hold it (`random` in [0, 1) draws the retry throttle). */
  admit(request: Request, now: number, random: number): Permit | Hold {
    const partition = this.partition(request.partition, request.origin, now)
    if (now < partition.cooldownUntil) return new Hold(partition.cooldownUntil, "cooldown")
    const route = this.routeOf(partition, request.route)
    const name = route?.bucket ?? ""
    const bucket = this.bucket(partition, name, now)
    if (request.attempt === "retry") {
      // Too few answers yet to judge the server while a burst of this route is on its way: wait for its answers
      // (at most a second after the route's last request left) before deciding.
      const throttle = this.config.retryThrottle
      if (
        throttle !== undefined && route !== undefined && route.inFlight > 0 && now - route.lastSentAt < SECOND &&
        partition.health.answered(now, throttle.window) < throttle.minRequests
      ) {
        return Hold.forAnswer(route.lastSentAt + SECOND, "learning")
      }
      if (this.refuses(partition, route, now, random)) return Hold.refusedRetry(now)
    }
    if (now < bucket.cooldownUntil) return new Hold(bucket.cooldownUntil, "cooldown")
    // An inferred rate is forgotten once the server has not throttled for a while, whether or not answers came since.
    if (bucket.rate !== undefined) this.forgetStaleRate(bucket, now)
    // A route whose answers carry no rate-limit fields is not paced by its partition's window.
    const windowed = route === undefined || route.bucket !== undefined
    let opener = false
    let routeProbe = false
    // A new route starts cautiously unless its origin's limiter speaks (it has sent rate-limit fields or a hint,
    // and has not refused without a word for a minute): the server's first answers then say what the route needs.
    const cautiousRoute = this.config.cautiousStart &&
      (bucket.ramp < RAMP_ANSWERS || !partition.speaks || now < partition.quietLimiterUntil)
    if (windowed) {
      const hold = this.windowHold(bucket, now)
      // (A configured limit paces every route of its origin: nothing to find out.)
      if ((route === undefined || !route.known) && bucket.configured === undefined) {
        // A route never answered may not be in this bucket at all: one request of it goes first (even while the
        // bucket is held), and the route's other calls follow its answer.
        const probing = route !== undefined && this.probing(route, now)
        if ((hold !== undefined || cautiousRoute) && !probing) {
          routeProbe = true
        } else if (probing) {
          return Hold.forAnswer(route!.probeSince! + OPENER_PATIENCE_MILLIS, bucket.headers ? "pacing" : "learning")
        } else if (hold !== undefined) {
          return hold
        }
      } else if (hold !== undefined) {
        return hold
      }
      opener = bucket.opening && hold === undefined
    }
    if (routeProbe) {
      const probe = route ?? this.newRoute(partition, request.route, cautiousRoute ? 0 : Infinity)
      probe.probeSince = now
      if (opener) bucket.openerSince = now
      else if (bucket.allowance !== undefined && bucket.allowance > 0) bucket.allowance--
      return this.send(probe, bucket, name, request, now, opener, true)
    }
    if (bucket.rate !== undefined && now < bucket.nextAt) return Hold.paced(bucket.nextAt)
    if (bucket.spacing !== undefined) {
      const earliest = bucket.due - (bucket.burst - 1) * bucket.spacing
      if (now < earliest) return Hold.paced(earliest)
    }
    if (bucket.ramp < RAMP_ANSWERS && bucket.inFlight >= Math.max(1, 2 * bucket.ramp)) {
      // A cautious start ramps up as answers come: twice as many in flight as answered so far.
      return Hold.forAnswer(undefined, "learning")
    }
    if (route !== undefined && route.ramp < RAMP_ANSWERS && route.inFlight >= 4 * route.ramp) {
      // So does a new route of a known origin, four times as many in flight as answered: a limiter in front of it
      // that says nothing meets a ramp, not a burst.
      return Hold.forAnswer(undefined, "learning")
    }
    if (opener) bucket.openerSince = now
    else if (windowed && bucket.allowance !== undefined) bucket.allowance--
    // (The route is remembered from its first request, so that its requests on their way count where its answers go;
    // sent here, it has nothing to ramp up to: a configured limit paces it, or there is no cautious start.)
    return this.send(
      route ?? this.newRoute(partition, request.route, Infinity),
      bucket,
      name,
      request,
      now,
      opener,
      false
    )
  }

  private send(
    route: Route,
    bucket: Bucket,
    name: string,
    request: Request,
    now: number,
    opener: boolean,
    routeProbe: boolean
  ): Permit {
    if (bucket.rate !== undefined) bucket.nextAt = Math.max(bucket.nextAt, now) + SECOND / bucket.rate
    if (bucket.spacing !== undefined) bucket.due = Math.max(bucket.due, now) + bucket.spacing
    if (!bucket.started && bucket.windowMillis !== undefined && bucket.allowance !== undefined && !bucket.headers) {
      // A configured window's phase is a guess: the server's window that counts this request may have begun with it,
      // so the next quota goes no sooner than a window after it (not at the guess's end, within the same window).
      bucket.windowEnd = Math.max(bucket.windowEnd, now + bucket.windowMillis)
      bucket.started = true
    }
    const gap = bucket.answeredSentAt >= bucket.lastSentAt ? now - bucket.answeredAt : 0
    bucket.lastSentAt = now
    bucket.inFlight++
    route.inFlight++
    route.lastSentAt = now
    // Every answer of a window's quota is news (what is left of it); a route known to answer without rate-limit
    // fields spends no quota, so its answers are sampled like any other's.
    const learn = opener || routeProbe || !route.known ||
      (route.bucket !== undefined && bucket.allowance !== undefined) || bucket.rate !== undefined ||
      bucket.ramp < RAMP_ANSWERS || bucket.learnCount++ % LEARN_EVERY === 0
    const permit = new Permit(
      request.partition,
      name,
      request.route,
      bucket.generation,
      opener,
      routeProbe,
      now,
      request.attempt,
      learn
    )
    permit.gap = gap
    return permit
  }

  /** Why a request in this bucket's window may not go now, if it may not. */
  private windowHold(bucket: Bucket, now: number): Hold | undefined {
    this.roll(bucket, now)
    if (bucket.opening && bucket.openerSince !== undefined && this.toldWindowOver(bucket, now)) {
      // (An opener went before the sure end of a told window; the others need not wait for its answer past it.)
    } else if (bucket.opening) {
      // One request opens the window; the others follow its answer (or go after its patience ran out).
      // (An opener that went before the told end holds the others until its answer or that end, whichever comes
      // first.)
      if (bucket.openerSince !== undefined && now - bucket.openerSince < OPENER_PATIENCE_MILLIS) {
        const until = bucket.openerSince + OPENER_PATIENCE_MILLIS
        return Hold.forAnswer(
          now < bucket.windowEnd ? Math.min(until, bucket.windowEnd) : until,
          bucket.ramp === 0 ? "learning" : "pacing"
        )
      }
      return undefined
    }
    if (bucket.allowance !== undefined && bucket.allowance <= 0) {
      // (Before any answer of a window opened at once, its end is a bound that the first answer makes sure of.)
      return bucket.endUnknown
        ? Hold.forAnswer(bucket.windowEnd, "pacing")
        : new Hold(bucket.windowEnd - bucket.openEarly, "pacing")
    }
    return undefined
  }

  /** Moves a bucket past a window that has ended. */
  private roll(bucket: Bucket, now: number): void {
    if (bucket.allowance === undefined || now < bucket.windowEnd - bucket.openEarly) return
    bucket.generation++
    bucket.inFlight = 0
    if (bucket.configured !== undefined && bucket.windowMillis !== undefined && !bucket.headers) {
      // A window the user told us of, and no header to say otherwise: the next one follows at once.
      bucket.allowance = bucket.configured
      bucket.windowEnd += Math.ceil((now - bucket.windowEnd + 1) / bucket.windowMillis) * bucket.windowMillis
      bucket.endUnknown = false
      bucket.openEarly = 0
      bucket.started = false
      // (Windows back to back, one of them anchored on an answer: the next ones keep its phase, and are not measured
      // again from their own answers. Each still lasts a window from its first request: see `send`.)
      bucket.anchored = bucket.backToBack && bucket.anchored
      return
    }
    if (this.toldWindowOver(bucket, now)) return
    // The server's windows are known only to the second: the next one opens with one request, whose answer tells
    // the quota, or that there is none any more (the limit is forgotten).
    bucket.allowance = undefined
    bucket.opening = true
    bucket.openerSince = undefined
  }

  /**
   * A window of a limit the user told, past its sure end (an upper bound): the next one has begun, or begins with
   * the first request sent now, so its whole quota (the server's limit, when its answers say one) may go at once,
   * without waiting for an opener's answer. Its end is not known before its first answer: until then it is bounded
   * by that answer's patience.
   */
  private toldWindowOver(bucket: Bucket, now: number): boolean {
    if (
      !bucket.quotaAtOnce || bucket.configured === undefined || bucket.windowMillis === undefined ||
      now < bucket.windowEnd
    ) return false
    bucket.allowance = Math.max(0, bucket.configured - (bucket.opening && bucket.openerSince !== undefined ? 1 : 0))
    if (bucket.backToBack && !bucket.endUnknown) {
      // Windows back to back: the one that begins now (at or after the sure end of the last) ends a window after its
      // first request, which goes now, with no answer to wait for. (Not sooner: a quota that goes late in a window
      // must not share the server's next window with the quota after it.)
      bucket.windowEnd = now + bucket.windowMillis
    } else {
      bucket.windowEnd = now + bucket.windowMillis + OPENER_PATIENCE_MILLIS
      bucket.endUnknown = true
    }
    bucket.openEarly = 0
    bucket.opening = false
    bucket.openerSince = undefined
    return true
  }

  private probing(route: Route, now: number): boolean {
    return route.probeSince !== undefined && now - route.probeSince < OPENER_PATIENCE_MILLIS
  }

  private refuses(partition: Partition, route: Route | undefined, now: number, random: number): boolean {
    const throttle = this.config.retryThrottle
    if (throttle === undefined) return false
    const p = Math.max(
      partition.health.refusal(now, throttle.window, throttle.k, throttle.minRequests),
      route === undefined ? 0 : route.health.refusal(now, throttle.window, throttle.k, throttle.minRequests),
      // Over the last seconds too, so that the successes of a healthy minute do not buy retries from a server that
      // has just stopped answering (as many answers are needed there as over the whole window).
      partition.recentHealth.refusal(now, RECENT_HEALTH_MILLIS, throttle.k, throttle.minRequests)
    )
    return random < p
  }

  private get throttleWindow(): number {
    return this.config.retryThrottle?.window ?? 60 * SECOND
  }

  /** Learns from an answer. Returns true when held requests may be able to go. */
  observe(permit: Permit, answer: Answer): boolean {
    const now = answer.receivedAt
    const partition = this.partitions.get(permit.partition)
    if (partition === undefined) return false
    const own = this.existing(partition, permit.bucket)
    if (!permit.settled && own !== undefined && permit.generation === own.generation) {
      own.inFlight = Math.max(0, own.inFlight - 1)
    }
    if (!permit.settled && own !== undefined) answered(own, permit, now)
    const route = this.routeOf(partition, permit.route) ?? this.newRoute(partition, permit.route)
    if (!permit.settled) route.inFlight = Math.max(0, route.inFlight - 1)
    permit.settled = true
    const status = answer.status
    const throttledStatus = status === 429 || status === 503
    const accepted = isAccepted(status)
    const info = answer.rateLimit
    this.learnClock(partition, permit, answer)
    const hintAt = this.refine(partition, answer.hintAt, answer.hintFromDate, answer.serverOffset)
    permit.hintAt = hintAt
    permit.paced = false
    if (info !== undefined || hintAt !== undefined) partition.speaks = true
    let wake = false
    /** A 429's hint said when the window ends: the answer's reset says no more. */
    let toldWindowEnd = false
    /** The server throttled with a hint, or a limiter's throttle: the pacing's business, not the retry budget's. */
    let pacedByServer = status === 429 || (throttledStatus && hintAt !== undefined)

    // The route learns which bucket it is in: the one the server names, the partition's own when the answer has
    // rate-limit fields without a name, none when it has neither (a throttle without them says nothing of it).
    const configured = this.config.limits.has(partition.origin)
    const named = answer.bucket ?? (info !== undefined || configured ? "" : undefined)
    if (!route.known || (route.bucket !== named && !(throttledStatus && named === undefined))) {
      route.bucket = named === undefined || named === "" ? named : detached(named)
      route.known = true
      wake = true
    }
    if (route.probeSince !== undefined) {
      route.probeSince = undefined
      wake = true
    }
    // (A bucket this answer names for the first time: made now, from what the user told of the origin, if anything.)
    const found = this.existing(partition, named ?? permit.bucket)
    const newBucket = found === undefined
    const bucket = found ?? this.bucket(partition, named ?? permit.bucket, now)
    // (An answer that moves the route to another bucket: if the route was there before, its window may be long over.)
    const moved = (named ?? permit.bucket) !== permit.bucket
    const current = !moved && permit.generation === bucket.generation
    bucket.recent.roll(now)
    bucket.recent.answers++
    if (accepted) bucket.recent.accepts++
    if (accepted) {
      route.recent.roll(now)
      route.recent.accepts++
    }

    // A server hint: a cooldown, shared up to the cap (a longer one is the told call's business alone). It holds
    // the bucket the answer names, else the whole partition: no request goes before an instant the server told,
    // whichever request it answered (one of a burst sent before the window was known, one of an earlier window).
    if (hintAt !== undefined && throttledStatus && hintAt > now && hintAt - now <= this.config.maxSharedCooldown) {
      if (answer.bucket !== undefined) bucket.cooldownUntil = Math.max(bucket.cooldownUntil, hintAt)
      else partition.cooldownUntil = Math.max(partition.cooldownUntil, hintAt)
      // (What a 429 says of the window, only of the one its request was counted in.)
      if (
        status === 429 && (current || bucket.allowance === undefined) &&
        (bucket.allowance !== undefined || bucket.opening || info !== undefined)
      ) {
        // The window is spent until the hint (the server's own word, over any reset it also sent); the one after it
        // opens with one request.
        bucket.allowance = 0
        bucket.windowEnd = hintAt
        bucket.endUnknown = false
        bucket.openEarly = 0
        bucket.opening = false
        bucket.openerSince = undefined
        toldWindowEnd = true
      }
      bucket.ramp = Infinity
      wake = true
    }

    if (status === 429 && bucket.configured !== undefined) {
      // The server refused within a told quota: its windows are not the ones told, or others share the quota.
      bucket.quotaAtOnce = false
      bucket.backToBack = false
    }
    if (info !== undefined) {
      // A configured window's phase is a guess: the server's first rate-limit fields take over from it.
      const firstFields = !bucket.headers
      bucket.headers = true
      if (bucket.ramp < RAMP_ANSWERS) wake = true
      bucket.ramp = Infinity
      const told = Math.max(now, this.refine(partition, info.resetAt, answer.resetFromDate, answer.serverOffset)!)
      // The first request of a window (its answer leaves one less than the limit) was counted by the server before
      // this answer came: a window of known length ends by this answer's arrival plus that length, whether the
      // server's windows follow each other back to back or start with the first request after one expired. So does
      // any request sent in the window we count now (the first of its answers to come is the closest bound): the
      // window it was counted in started before it arrived.
      const windowMillis = info.windowMillis ?? bucket.windowMillis ?? bucket.learnedWindow
      const limit = info.limit ?? bucket.configured
      const firstOfWindow = accepted && limit !== undefined && info.remaining === limit - 1
      const ended = (firstOfWindow || (accepted && current && limit !== undefined)) && windowMillis !== undefined
        ? now + windowMillis
        : Infinity
      const resetAt = Math.min(told, ended)
      // A reset the server told while it accepted, measured against its clock: the opener may go when that clock may
      // read it, or, for a window's first request, the fewest whole seconds after it that the reset allows (see
      // `openerLead`). After a throttle, only when it surely does.
      const unknown = Math.max(0, Math.min(SECOND, partition.offsetHigh - partition.offsetLow))
      const openEarly = !accepted || !answer.resetFromDate || resetAt !== told
        ? 0
        : openerLead(resetAt, now, permit.sentAt, unknown, firstOfWindow)
      if (toldWindowEnd) {
        // The hint set the window's end.
      } else if (
        bucket.opening || bucket.allowance === undefined || (firstFields && (current || newBucket)) ||
        (moved && now >= bucket.windowEnd - bucket.openEarly)
      ) {
        // The first news of this window: take the server's word, less what is still on its way to it. Answers to
        // requests sent before it belong to an older generation: they were counted here already. So is the first
        // answer that brings a route back to a bucket whose window ended: the server's window it speaks of is new.
        if (answer.resetFromDate && answer.serverOffset !== undefined) {
          // The reset on the server's clock (the measured instant less what Date said of it): when the window's
          // opener went as the last window ended and found the next, the two resets are a window apart (or more,
          // never less: the longest seen is kept).
          const reset = info.resetAt + answer.serverOffset
          if (permit.opener && bucket.reset > 0 && reset > bucket.reset && permit.sentAt <= bucket.windowEnd + TURN) {
            bucket.learnedWindow = Math.max(bucket.learnedWindow ?? 0, reset - bucket.reset)
          }
          bucket.reset = reset
        }
        bucket.opening = false
        bucket.openerSince = undefined
        // (Answers that name a bucket for the first time come to requests sent under another: the route's requests
        // still on their way count in it too, and, for a bucket made by this answer, all those of the bucket they
        // were sent under, whichever route: the server may count them in it.)
        const inFlight = current
          ? bucket.inFlight
          : Math.max(bucket.inFlight, route.inFlight, newBucket && own !== undefined ? own.inFlight : 0)
        bucket.allowance = Math.max(0, info.remaining - inFlight)
        bucket.windowEnd = resetAt
        bucket.endUnknown = false
        bucket.openEarly = openEarly
        bucket.generation++
        bucket.inFlight = 0
        wake = true
      } else if (current) {
        // A request sent as the window its opener found was closing may be counted first in the next one (its answer
        // leaves all but one, as only the opener's should): that window ends by this answer's reset, and the next
        // opener waits for it, not going into a window the requests that spilled into it may have spent. Once per
        // window, and not in a window the user told of (its requests all go at once).
        const spilled = firstOfWindow && !permit.opener && bucket.configured === undefined &&
          bucket.spilledIn !== bucket.generation
        if (spilled) {
          bucket.spilledIn = bucket.generation
          bucket.windowEnd = Math.max(bucket.windowEnd, resetAt)
          bucket.endUnknown = false
          bucket.openEarly = openEarly
        } else if (resetAt < bucket.windowEnd) {
          // Reset instants are upper bounds (rounded up to the second): the earliest told is the closest. The opener
          // still goes when an earlier answer let it (a closer sure end does not move the likely opening later),
          // unless this answer is a throttle: then only at the sure end.
          wake = true
          const opening = accepted ? Math.min(bucket.windowEnd - bucket.openEarly, resetAt - openEarly) : resetAt
          bucket.windowEnd = resetAt
          bucket.endUnknown = false
          bucket.openEarly = resetAt - opening
        } else if (!accepted) {
          bucket.openEarly = 0
        }
        bucket.allowance = Math.min(bucket.allowance, info.remaining)
      }
      if (info.limit !== undefined && bucket.configured !== undefined) bucket.configured = info.limit
    } else if (permit.opener && bucket.opening && current) {
      bucket.openerSince = undefined
      wake = true
      if (accepted) {
        // The window's opener came back without rate-limit fields: the server no longer says there is a limit.
        bucket.opening = false
        if (bucket.configured !== undefined && bucket.windowMillis !== undefined) {
          bucket.allowance = Math.max(0, bucket.configured - bucket.inFlight)
          bucket.windowEnd = now + bucket.windowMillis
          bucket.endUnknown = false
        } else {
          bucket.allowance = undefined
        }
      }
    }

    if (info === undefined && current && !bucket.headers && bucket.windowMillis !== undefined && !bucket.anchored) {
      // A configured window and no headers: the server started counting this window at the latest when it answered
      // our first request of it, so the window cannot end before that answer plus its length.
      bucket.windowEnd = Math.max(bucket.windowEnd, now + bucket.windowMillis)
      bucket.anchored = true
    }

    if (throttledStatus && hintAt === undefined && info === undefined) {
      bucket.recent.throttles++
      // Throttled without any hint: a 429, or a 503 on a route that accepts some of its requests (while a cautious
      // start ramps up, or among mostly-refused answers): a limiter, not a failing server. Infer the rate the server
      // accepts and pace to it. (Accepted on this route: another route's successes say nothing of this one.) A 503
      // from a server that has accepted nothing over the last second or two is a failure, whatever it accepted
      // before: a server that stops answering is not paced (the retry budget judges it), and a rate inferred
      // earlier is forgotten.
      route.health.roll(now, this.throttleWindow)
      const acceptsSome = route.health.accepts + route.health.previousAccepts > 0
      const acceptsNow = bucket.recent.accepts + bucket.recent.previousAccepts > 0
      // (Mostly refused over the bucket's last second, or on this route alone: a busy route beside it, such as one
      // warmed up a moment before, fills the bucket's second with accepted answers that hide a limiter on this one.)
      const routeRefused = route.health.refused(now, this.throttleWindow)
      const limiter = status === 429 ||
        (acceptsNow && (bucket.rate !== undefined ||
          (acceptsSome && bucket.ramp < RAMP_ANSWERS) ||
          (acceptsSome && bucket.recent.throttles >= 3 && 2 * bucket.recent.throttles >= bucket.recent.answers) ||
          (acceptsSome && routeRefused >= 3 && 2 * routeRefused >= route.health.answered(now, this.throttleWindow))))
      if (bucket.spacing !== undefined && bucket.windowMillis !== undefined && bucket.configured !== undefined) {
        // A told rate whose spacing the server found too short: its clock and ours disagree by a few milliseconds.
        // Space a little wider (2 % per throttle, up to a tenth), rather than infer a rate the user told.
        bucket.spacing = Math.min(bucket.spacing * 1.02, 1.1 * bucket.windowMillis / bucket.configured)
      } else if (limiter) {
        this.throttle(bucket, route, permit, now)
        partition.quietLimiterUntil = now + QUIET_LIMITER_MEMORY_MILLIS
      } else {
        bucket.rate = undefined
      }
      pacedByServer = limiter
      // A retry of it waits for its turn at the inferred rate (not at a told spacing, which a burst may not hold).
      permit.paced = limiter && bucket.rate !== undefined && SECOND / bucket.rate >= PACED_RETRY_MIN_MILLIS &&
        bucket.nextAt > now
      bucket.ramp = Infinity
      wake = true
    } else if (accepted) {
      if (bucket.ramp < RAMP_ANSWERS) {
        bucket.ramp++
        wake = true
      }
      // (A rate grown lets the held calls go sooner: they hear of it.)
      if (bucket.rate !== undefined && this.grow(bucket, now)) wake = true
    } else if (bucket.ramp < RAMP_ANSWERS) {
      // A failing server gains nothing from being held: the ramp ends.
      bucket.ramp = Infinity
      wake = true
    }
    if (route.ramp < RAMP_ANSWERS) {
      // The route's ramp goes on with each accepted answer, and pauses on a refusal from a server that accepted some
      // (a limiter not yet recognised); a server's word (a hint, rate-limit fields, an inferred rate) takes over from
      // it, and a route that has accepted nothing yet is failing, not limited: holding it gains nothing.
      route.ramp = accepted && info === undefined && hintAt === undefined
        ? route.ramp + 1
        : info !== undefined || hintAt !== undefined || bucket.rate !== undefined || route.ramp === 0
        ? Infinity
        : route.ramp
      wake = true
    }

    if (permit.attempt !== "retry-after-hint" && !pacedByServer) {
      this.count(partition, route, accepted, now)
      // Retries may be waiting for a burst's answers to judge the server by.
      const throttle = this.config.retryThrottle
      if (throttle !== undefined && partition.health.answered(now, throttle.window) <= throttle.minRequests) wake = true
    }
    return wake
  }

  /**
   * Learns the server's clock from an answer's `Date`: it is at most the server's time when the answer arrived, and
   * more than the server's time when the request left, less a second. Bounds that stop agreeing (the clock jumped,
   * or several servers with different clocks answer for the origin) start over from this answer. Servers whose clocks
   * differ by less than their answers can tell apart are taken for one: an instant from the slower one may then be
   * read early by up to that difference (NTP keeps it to milliseconds).
   */
  private learnClock(partition: Partition, permit: Permit, answer: Answer): void {
    if (answer.serverOffset === undefined) return
    // A refusal of a request the bounds said left after the server's clock reached its instant (a clock was set):
    // they start again from this answer.
    if (
      answer.hintAt !== undefined && answer.hintFromDate && answer.status >= 400 &&
      serverClock.contradicted(partition, answer.hintAt + answer.serverOffset, permit.sentAt)
    ) {
      serverClock.forget(partition)
    }
    serverClock.learn(partition, answer.serverOffset, permit.sentAt, answer.receivedAt)
  }

  /**
   * An instant measured against an answer's `Date` (instant - Date from when it arrived, an upper bound: `Date` is
   * rounded down to the second) moved earlier by what the origin's other answers tell of the server's clock, by less
   * than a second and never before the server's instant.
   */
  private refine(partition: Partition, at: number | undefined, fromDate: boolean, offset: number | undefined) {
    if (at === undefined || !fromDate || offset === undefined) return at
    return at - serverClock.correction(partition, offset)
  }

  /**
   * A throttle without a hint. The first sets the rate to what the server accepted of the throttled route over the
   * last second (at least `FIRST_RATE`; no more than the bucket accepted), and it doubles with each accepted answer
   * (slow start). Later ones cut it, once per request sent after the previous cut: growth will flatten at `RATE_MARGIN`
   * of the rate refused (the pacing's, or the slower rate the request really left at), and the rate is cut to 0.7 of
   * that, or to what the server accepted of that route over the last second if more (up to where growth flattens): a
   * limiter driven past its rate accepts just its rate.
   */
  private throttle(bucket: Bucket, route: Route, permit: Permit, now: number): void {
    bucket.throttledAt = now
    // What the server accepted of the throttled route: other routes of the bucket may not be limited at all (a busy
    // path without a limiter would set the first rate far above the limiter's, and hold back every cut).
    const accepted = Math.min(bucket.recent.acceptRate(now), route.recent.acceptRate(now))
    if (bucket.rate === undefined) {
      bucket.rate = Math.max(FIRST_RATE, accepted)
      bucket.rateMax = bucket.rate
      bucket.slowStart = true
      bucket.acceptedSinceCut = 0
    } else {
      if (permit.sentAt < bucket.rateDecreasedAt) return
      // The rate refused is the pacing's, or less when the request left later than its turn (the calls held for it
      // came seldom, or woke late): a limiter that spaces requests refused the gap before this one, which was no
      // shorter than `gap` (0 when the request before it was still on its way: no rate can be read). (A request that
      // left more than a second after the one before tells of a pause, not of a rate.)
      const left = permit.gap <= SECOND ? SECOND / permit.gap : Infinity
      bucket.rateMax = Math.min(bucket.rate, left) * RATE_MARGIN
      bucket.rate = Math.max(MIN_RATE, bucket.rateMax * RATE_DECREASE, Math.min(bucket.rateMax, accepted))
      bucket.slowStart = false
      // Where the curve of `grow` passes the new rate.
      const below = Math.max(0, Math.min(1, (1 - bucket.rate / bucket.rateMax) / (1 - RATE_DECREASE)))
      bucket.acceptedSinceCut = RECOVERY_ANSWERS * (1 - Math.cbrt(below))
    }
    bucket.rateDecreasedAt = now
    bucket.nextAt = Math.max(bucket.nextAt, now + SECOND / bucket.rate)
  }

  /**
   * An accepted answer while paced to an inferred rate: in slow start the rate doubles with each answer; after a cut
   * it grows back along a cubic in the answers accepted since (AWS's adaptive retry mode, counted in answers rather
   * than seconds, so it probes alike at any rate): fast at first, flat just under the rate refused (reached after
   * `RECOVERY_ANSWERS` answers), then faster past it. The next request may go sooner at the new rate. The rate is
   * forgotten once the server has not throttled for a while. Returns true when the calls held for the next slot may
   * go sooner.
   */
  private grow(bucket: Bucket, now: number): boolean {
    if (this.forgetStaleRate(bucket, now)) return true
    const rate = bucket.rate ?? MIN_RATE
    let next = rate
    if (bucket.slowStart) {
      next = 2 * rate
    } else {
      const n = ++bucket.acceptedSinceCut / RECOVERY_ANSWERS - 1
      next = Math.max(rate, bucket.rateMax * (1 + (1 - RATE_DECREASE) * n ** 3))
    }
    // Past MAX_RATE pacing holds nothing back any more: the rate stays finite.
    bucket.rate = Number.isFinite(next) ? Math.min(MAX_RATE, next) : MAX_RATE
    const nextAt = Math.min(bucket.nextAt, bucket.lastSentAt + SECOND / bucket.rate)
    const sooner = nextAt < bucket.nextAt && bucket.nextAt > now
    bucket.nextAt = nextAt
    return sooner
  }

  /**
   * Forgets a rate inferred from throttles without a hint once the server has not throttled for a while
   * (`INFERRED_RATE_MEMORY_MILLIS`), and says whether it did. What was learned decays into caution, not into a
   * burst: a bucket with nothing in flight starts cautiously again (one request, then twice as many in flight as
   * answered), so that the next burst to a limiter that says nothing meets a ramp, and one refusal teaches the rate
   * again, rather than most of the burst being refused; a server that stopped limiting costs a few answers' time.
   * A bucket with requests on their way is busy, not starting a burst: it is not held behind them. Nor is one whose
   * limit was told, or whose answers carry rate-limit fields: its limiter speaks, as a new bucket's ramp also assumes.
   */
  private forgetStaleRate(bucket: Bucket, now: number): boolean {
    if (now - bucket.throttledAt <= INFERRED_RATE_MEMORY_MILLIS) return false
    bucket.rate = undefined
    if (this.config.cautiousStart && bucket.inFlight === 0 && bucket.configured === undefined && !bucket.headers) {
      bucket.ramp = 0
    }
    return true
  }

  /** Hands back a permit whose answer was not observed. Returns true when held requests may be able to go. */
  settle(permit: Permit, outcome: Outcome, now: number): boolean {
    if (permit.settled) return false
    permit.settled = true
    const partition = this.partitions.get(permit.partition)
    if (partition === undefined) return false
    let wake = false
    const bucket = this.existing(partition, permit.bucket)
    if (bucket !== undefined) {
      if (permit.generation === bucket.generation) bucket.inFlight = Math.max(0, bucket.inFlight - 1)
      // (Handed back once its answer came, or the request ended otherwise: it has arrived, or never will.)
      answered(bucket, permit, now)
      if (bucket.ramp < RAMP_ANSWERS) {
        if (outcome === "success") bucket.ramp++
        wake = true
      }
      if (permit.opener && bucket.opening && permit.generation === bucket.generation) {
        bucket.openerSince = undefined
        wake = true
      }
    }
    const route = this.routeOf(partition, permit.route)
    if (route !== undefined) {
      route.inFlight = Math.max(0, route.inFlight - 1)
      if (route.ramp < RAMP_ANSWERS) {
        if (outcome === "success") route.ramp++
        wake = true
      }
    }
    if (route !== undefined && permit.routeProbe && route.probeSince !== undefined) {
      route.probeSince = undefined
      wake = true
    }
    if (outcome !== "interrupted" && permit.attempt !== "retry-after-hint") {
      this.count(partition, route, outcome === "success", now)
    }
    return wake
  }

  /** Counts an answered request for the retry budget (answered, so a burst in flight does not look refused). */
  private count(partition: Partition, route: Route | undefined, accepted: boolean, now: number): void {
    const window = this.throttleWindow
    partition.health.roll(now, window)
    partition.health.requests++
    if (accepted) partition.health.accepts++
    partition.recentHealth.roll(now, RECENT_HEALTH_MILLIS)
    partition.recentHealth.requests++
    if (accepted) partition.recentHealth.accepts++
    if (route !== undefined) {
      route.health.roll(now, window)
      route.health.requests++
      if (accepted) route.health.accepts++
    }
  }

  private partition(key: string, origin: string, now: number): Partition {
    let partition = this.partitions.get(key)
    if (partition !== undefined && now - partition.lastUsed > this.config.ttl) {
      this.drop(partition)
      partition = undefined
    }
    if (partition === undefined) {
      // Constant work per request: at most two expired partitions go here, the oldest when the map is full.
      if (this.expireOldest(now)) this.expireOldest(now)
      if (this.partitions.size >= this.config.maxPartitions && this.oldest !== undefined) this.drop(this.oldest)
      // (Kept for as long as the partition: copies that do not keep the request's URL alive with them.)
      const kept = detached(key)
      partition = this.fresh(kept, key === origin ? kept : detached(origin), now)
      this.partitions.set(kept, partition)
      this.append(partition)
      return partition
    }
    if (partition !== this.newest) {
      this.unlink(partition)
      this.append(partition)
    }
    partition.lastUsed = now
    return partition
  }

  private append(partition: Partition): void {
    partition.older = this.newest
    partition.newer = undefined
    if (this.newest !== undefined) this.newest.newer = partition
    else this.oldest = partition
    this.newest = partition
  }

  private unlink(partition: Partition): void {
    if (partition.older !== undefined) partition.older.newer = partition.newer
    else this.oldest = partition.newer
    if (partition.newer !== undefined) partition.newer.older = partition.older
    else this.newest = partition.older
    partition.older = undefined
    partition.newer = undefined
  }

  private drop(partition: Partition): void {
    this.unlink(partition)
    this.partitions.delete(partition.key)
    this.spare = partition
  }

  /**
   * A new partition, made of the last one dropped when there is one (and of its own bucket and first route): past
   * `maxOrigins` a request to a new origin allocates nothing, so its cost does not grow with the garbage it makes.
   */
  private fresh(key: string, origin: string, now: number): Partition {
    const spare = this.spare
    this.spare = undefined
    this.spareBucket = spare?.own
    this.spareRoute = spare?.firstRoute
    const partition = spare ?? new Partition()
    partition.key = key
    partition.origin = origin
    partition.older = undefined
    partition.newer = undefined
    partition.cooldownUntil = 0
    partition.quietLimiterUntil = 0
    partition.speaks = false
    partition.offsetLow = -Infinity
    partition.offsetHigh = Infinity
    partition.own = undefined
    partition.named = undefined
    partition.firstRouteName = undefined
    partition.firstRoute = undefined
    partition.routes = undefined
    partition.newestRoute = undefined
    partition.lastUsed = now
    partition.health.reset(now)
    partition.recentHealth.reset(now)
    return partition
  }

  /** Drops the least recently used partition if it has expired. */
  private expireOldest(now: number): boolean {
    const oldest = this.oldest
    if (oldest === undefined || now - oldest.lastUsed <= this.config.ttl) return false
    this.drop(oldest)
    return true
  }

  /** A route of the partition; the others are kept in the order of use, so the least recently used go first. */
  private routeOf(partition: Partition, name: string): Route | undefined {
    if (partition.firstRouteName === name) return partition.firstRoute
    const routes = partition.routes
    const route = routes?.get(name)
    if (route !== undefined && partition.newestRoute !== name) {
      routes!.delete(name)
      routes!.set(name, route)
      partition.newestRoute = name
    }
    return route
  }

  private newRoute(partition: Partition, routeName: string, ramp = this.config.cautiousStart ? 0 : Infinity): Route {
    const name = detached(routeName)
    const spare = partition.firstRoute === undefined ? this.spareRoute : undefined
    this.spareRoute = undefined
    const route = spare ?? new Route()
    route.bucket = ""
    route.known = false
    route.probeSince = undefined
    route.ramp = ramp
    route.inFlight = 0
    route.lastSentAt = 0
    route.health.reset(0)
    route.recent.reset(0)
    if (partition.firstRoute === undefined) {
      partition.firstRouteName = name
      partition.firstRoute = route
      return route
    }
    partition.routes ??= new Map()
    if (partition.routes.size >= MAX_ROUTES) {
      const first = partition.routes.keys().next()
      if (first.done !== true) partition.routes.delete(first.value)
    }
    partition.routes.set(name, route)
    partition.newestRoute = name
    return route
  }

  private existing(partition: Partition, name: string): Bucket | undefined {
    return name === "" ? partition.own : partition.named?.get(name)
  }

  private bucket(partition: Partition, name: string, now: number): Bucket {
    let bucket = this.existing(partition, name)
    if (bucket === undefined) {
      if (name !== "") {
        // (A name cut from a header value: a copy that does not keep the whole value alive.)
        name = detached(name)
        partition.named ??= new Map()
        if (partition.named.size >= MAX_ROUTES) {
          const first = partition.named.keys().next()
          if (first.done !== true) partition.named.delete(first.value)
        }
      }
      // A limit told for the origin is each of its buckets' until their answers say their own: the partition's, and
      // those the server names (an IETF policy name, `x-ratelimit-resource`...).
      const configured = this.config.limits.get(partition.origin)
      const cautious = configured === undefined && this.config.cautiousStart
      const spare = name === "" ? this.spareBucket : undefined
      this.spareBucket = undefined
      bucket = spare ?? new Bucket()
      bucket.cooldownUntil = 0
      bucket.allowance = configured?.requests
      bucket.windowEnd = configured === undefined ? 0 : now + configured.window
      bucket.openEarly = 0
      bucket.windowMillis = configured?.window
      bucket.configured = configured?.requests
      bucket.spacing = configured !== undefined && configured.burst < configured.requests
        ? configured.window / configured.requests
        : undefined
      bucket.burst = configured?.burst ?? 1
      bucket.due = 0
      bucket.reset = 0
      bucket.learnedWindow = undefined
      bucket.anchored = false
      bucket.started = false
      bucket.backToBack = configured?.backToBack ?? false
      bucket.quotaAtOnce = true
      bucket.endUnknown = false
      bucket.opening = cautious
      bucket.openerSince = undefined
      bucket.generation = 0
      bucket.spilledIn = -1
      bucket.inFlight = 0
      bucket.ramp = cautious ? 0 : Infinity
      bucket.headers = false
      bucket.rate = undefined
      bucket.rateMax = 0
      bucket.rateDecreasedAt = 0
      bucket.acceptedSinceCut = 0
      bucket.slowStart = false
      bucket.nextAt = 0
      bucket.lastSentAt = 0
      bucket.answeredSentAt = 0
      bucket.answeredAt = 0
      bucket.throttledAt = 0
      bucket.learnCount = 0
      bucket.recent.reset(now)
      if (name === "") partition.own = bucket
      else partition.named!.set(name, bucket)
    }
    return bucket
  }
}
