import { originOf } from "./coordinatorAnswer.js"
import * as state from "./coordinatorState.js"
import * as optionChecks from "./optionChecks.js"
import { MAX_AT_MILLIS } from "./serverHint.js"

/** The longest sleep a JavaScript timer holds: 2^31 - 1 ms (about 24.8 days). */
const MAX_TIMER_MILLIS = 2 ** 31 - 1

/** Why a call is held or refused: a hold of the state machine, or a retry its retry budget refused. */
export type HoldReason = state.HoldReason | "retry-budget"

/**
 * The state machine's `Request` for a URL: its origin, its partition (the origin and the request's key), its route.
 * A client mostly calls one path with another item at its end (`/items/1`, `/items/2`...): such a request is read
 * once, and the next one like it is the same object, its strings the same strings (found in a map without hashing
 * them again).
 */
export const requestOf = (url: string, attempt: state.Attempt, key: string | undefined): state.Request => {
  const last = lastRequest
  if (
    last !== undefined && last.attempt === attempt && key === lastKey && url.startsWith(lastStem) &&
    state.endsWithItem(url, lastStem.length)
  ) return last
  const origin = originOf(url)
  const request: state.Request = {
    partition: key === undefined ? origin : `${origin} ${key}`,
    origin,
    route: state.routeOf(url),
    attempt
  }
  const slash = url.lastIndexOf("/")
  if (slash > origin.length && state.endsWithItem(url, slash + 1)) {
    lastRequest = request
    lastKey = key
    lastStem = url.slice(0, slash + 1)
  }
  return request
}

/** The last request `requestOf` read whose URL ends in an item, its key, and its URL up to that item. */
let lastRequest: state.Request | undefined
let lastKey: string | undefined
let lastStem = ""

/**
 * The first step of a call, taken at once unless it needs a random draw (a retry's, for the retry budget): the permit,
 * or the hold the call starts in; undefined for a retry.
 */
export const admitAtOnce = (
  machine: state.CoordinatorState,
  request: state.Request,
  now: number
): state.Permit | state.Hold | undefined => request.attempt === "retry" ? undefined : machine.admit(request, now, 0)

/** A hold a call waited out, and the group it waited in. */
export interface Waited {
  readonly hold: state.Hold
  readonly group: string
}

/**
 * What a call does with the state machine's answer: go with its permit, stop (a retry the budget refused, a hold
 * past the call's deadline), or wait in a group of calls held for the same reason.
 */
export type Step =
  | { readonly _tag: "Go"; readonly permit: state.Permit }
  | { readonly _tag: "Refused" }
  | { readonly _tag: "Stop"; readonly until: number; readonly reason: state.HoldReason }
  | {
    readonly _tag: "Wait"
    readonly waited: Waited
    /** The wait draws a number (its part of the release spread). */
    readonly draws: boolean
    /** How long to wait, given the draw: until the instant, or a second when waiting for news. */
    readonly millis: (draw: number) => number
    /** The hold is new to this call (another reason or instant): it is logged. */
    readonly changed: boolean
  }

/**
 * Decides the step after `admit`. A hold that would end past the call's deadline stops the call now, saying until
 * when; one that ends with an answer already on its way (its instant only bounds the wait) waits for it up to the
 * deadline. `last` is the hold the call waited out before this step, if any.
 */
export const plan = (
  request: state.Request,
  admission: state.Permit | state.Hold,
  now: number,
  deadline: number,
  releaseSpread: number,
  last: Waited | undefined
): Step => {
  if (admission instanceof state.Permit) return { _tag: "Go", permit: admission }
  if (admission.refused) return { _tag: "Refused" }
  const until = admission.until
  if (!(now < deadline && (admission.answer || (until ?? now) <= deadline))) {
    return { _tag: "Stop", until: until ?? deadline, reason: admission.reason }
  }
  return {
    _tag: "Wait",
    waited: { hold: admission, group: `${request.route} ${request.attempt} ${admission.reason}` },
    draws: until !== undefined,
    millis: (draw) =>
      until === undefined
        ? Math.min(1000, Math.max(0, deadline - now))
        : Math.min(
          MAX_TIMER_MILLIS,
          Math.ceil(Math.max(0, until - now) + (admission.spread ? draw * releaseSpread : 0)),
          admission.answer ? Math.ceil(deadline - now) : Infinity
        ),
    changed: last === undefined || last.hold.reason !== admission.reason || last.hold.until !== until
  }
}

/**
 * The group a call leaves at this step, when it waited in one and is let through, stopped, or held for another
 * reason: its next call is woken (each one let through wakes the next).
 */
export const leaves = (last: Waited | undefined, step: Step): string | undefined =>
  last !== undefined && (step._tag !== "Wait" || step.waited.group !== last.group) ? last.group : undefined

/**
 * The calls held, kept by partition and by group (what holds them: route, attempt, reason), in the order they came.
 * Calls held for the same reason would all be held again, so news wakes the first of each group, and each one let
 * through wakes the next: a wake costs what it lets through, not what waits. A waiter is whatever wakes a call.
 */
export class Waiters<W> {
  private readonly partitions = new Map<string, Map<string, Set<W>>>()
  /** Puts a waiter last in its group. */
  add(partition: string, group: string, waiter: W): void {
    let groups = this.partitions.get(partition)
    if (groups === undefined) {
      groups = new Map()
      this.partitions.set(partition, groups)
    }
    let queue = groups.get(group)
    if (queue === undefined) {
      queue = new Set()
      groups.set(group, queue)
    }
    queue.add(waiter)
  }
  /** Takes a waiter out of its group (an empty group, and a partition with none, are dropped); false if it was not in it. */
  remove(partition: string, group: string, waiter: W): boolean {
    const groups = this.partitions.get(partition)
    const queue = groups?.get(group)
    if (queue === undefined || !queue.delete(waiter)) return false
    if (queue.size === 0) {
      groups!.delete(group)
      if (groups!.size === 0) this.partitions.delete(partition)
    }
    return true
  }
  /** Takes the first waiter of a group out of it, if one waits: the next call finds the next. */
  takeFirst(partition: string, group: string): W | undefined {
    const first = this.partitions.get(partition)?.get(group)?.values().next()
    if (first === undefined || first.done === true) return undefined
    this.remove(partition, group, first.value)
    return first.value
  }
  /**
   * Parks a call last in its group until it is woken or `millis` pass, on a timer: `go` runs once, then. Returns what
   * takes the call out without running `go` (it was interrupted). A call parked this way costs a timer and a callback.
   * A timer holds 2^31 - 1 ms at most (about 24.8 days): a longer wait ends then; a wait that is not a positive number
   * ends at once. A call woken and then interrupted before it could take its step hands the wake on to the next call
   * of its group: each call let through wakes the next, and a wake lost there would leave the group to its timers.
   */
  park(this: Waiters<() => void>, partition: string, group: string, millis: number, go: () => void): () => void {
    let state: "parked" | "woken" | "gone" = "parked"
    const woken = () => {
      // (A wake takes the call out of its group before it runs this.)
      if (state !== "parked") return
      state = "woken"
      clearTimeout(timer)
      go()
    }
    const timer = setTimeout(() => {
      if (state !== "parked") return
      state = "gone"
      this.remove(partition, group, woken)
      go()
    }, millis > 0 ? Math.min(millis, MAX_TIMER_MILLIS) : 0)
    this.add(partition, group, woken)
    return () => {
      const was = state
      state = "gone"
      if (was === "parked") {
        clearTimeout(timer)
        this.remove(partition, group, woken)
      } else if (was === "woken") {
        this.takeFirst(partition, group)?.()
      }
    }
  }
  /** The groups a partition's calls wait in, as they are now. */
  groups(partition: string): ReadonlyArray<string> {
    const groups = this.partitions.get(partition)
    return groups === undefined ? [] : [...groups.keys()]
  }
}

/** An instant as an ISO date, or words when no date holds it. */
export const instant = (millis: number): string =>
  Number.isFinite(millis) && Math.abs(millis) <= MAX_AT_MILLIS
    ? new Date(millis).toISOString()
    : "a time past any date"

/** The message of a hold's log line. */
export const holdMessage = (origin: string, reason: state.HoldReason): string =>
  `holding a request to ${origin}: ${reason}`

/**
 * The annotations of a hold's log line: the origin, never the path or the query. `skew` moves the hold's instant to
 * the wall clock (see `Timeline`).
 */
export const holdAnnotations = (origin: string, hold: state.Hold, skew = 0): {
  readonly origin: string
  readonly reason: state.HoldReason
  readonly until: string
  readonly ends: string
} => ({
  origin,
  reason: hold.reason,
  until: hold.until === undefined ? "an answer" : instant(hold.until + skew),
  // An answer to a request already sent ends the hold; `until` then only bounds the wait for it.
  ends: hold.answer ? "on an answer" : "at the instant"
})

/**
 * The coordinator's time: the monotonic clock, on the wall clock's scale from its first reading. Holds run on it, so
 * a step of the wall clock (set forward or back by NTP, a virtual machine resumed) neither ends a hold early nor
 * stretches one: a hold of 5 s lasts 5 s, and the bounds learned on the server's clock stay true. An instant that
 * comes in on the wall clock (an answer's arrival, a call's deadline) is moved onto it by the skew, the wall clock's
 * reading less `now`; one that goes out (an error's `until`, a hint's instant, a log line) is moved back by it.
 */
export class Timeline {
  private wallAt = Number.NaN
  private monotonicAt = BigInt(0)

  /** Now, from both clocks read at once: the wall clock in milliseconds, the monotonic one in nanoseconds. */
  now(wall: number, monotonic: bigint): number {
    if (Number.isNaN(this.wallAt)) {
      this.wallAt = wall
      this.monotonicAt = monotonic
      return wall
    }
    return this.wallAt + Number(monotonic - this.monotonicAt) / 1_000_000
  }
}

/** The message of the log line of a retry the retry budget refused. */
export const refusedMessage = (origin: string): string => `a retry to ${origin} was refused by the retry budget`

/** The message of the error of a call held past its deadline, or refused by the retry budget. */
export const heldMessage = (origin: string, until: number, reason: HoldReason): string =>
  reason === "retry-budget"
    ? `a retry to ${origin} was refused: the server accepts too few requests (retry budget)`
    : `requests to ${origin} are held until ${instant(until)} (${reason}), past this call's deadline`

/** A counter the coordinator writes: its name and description. */
export interface MetricInfo {
  readonly name: string
  readonly description: string
}

/** Requests held, tagged with `reason`. */
export const HOLDS: MetricInfo = {
  name: "http_client_coordinator_holds_total",
  description: "Requests held by the coordinator (cooldown, pacing, or a first request learning the bucket)"
}

/** Held requests released. */
export const RELEASES: MetricInfo = {
  name: "http_client_coordinator_releases_total",
  description: "Held requests the coordinator released"
}

/** Retries the retry budget refused. */
export const REFUSALS: MetricInfo = {
  name: "http_client_coordinator_retry_refusals_total",
  description: "Retries refused because the server accepts too few requests (adaptive retry budget)"
}

/** The names of the span events the coordinator writes, with `server.address` (and `reason` on a hold). */
export const EVENTS = {
  hold: "coordinator.hold",
  release: "coordinator.release",
  refused: "coordinator.retry_refused"
} as const

/** The coordinator's options as given: each is checked before it is read. */
export interface Input<K> {
  readonly releaseSpread?: unknown
  readonly cautiousStart?: unknown
  readonly limits?: unknown
  readonly retryBudget?: unknown
  readonly maxSharedCooldown?: unknown
  readonly key?: K
  readonly originTtl?: unknown
  readonly maxOrigins?: unknown
}

/** How a line of the toolkit reads a duration (with its own `Duration`) and shows a bad value. */
export interface Checks {
  /** Milliseconds of a duration option (or of `fallback` milliseconds when it is absent); NaN and a problem if bad. */
  readonly millis: (problems: Array<string>, name: string, value: unknown, fallback: number) => number
  readonly show: (u: unknown) => string
}

/** A coordinator's settings, read from good options. */
export interface Settings<K> {
  readonly releaseSpread: number
  readonly config: state.Config
  readonly key: K | undefined
}

/** The options read: their settings, or every problem found in them. */
export type Resolved<K> =
  | { readonly _tag: "Settings"; readonly settings: Settings<K> }
  | { readonly _tag: "Problems"; readonly problems: ReadonlyArray<string> }

/**
 * Reads a coordinator's options, listing every problem. Defaults: `releaseSpread` 20 ms, `cautiousStart` true, no
 * limits, `retryBudget` `{ k: 2, minRequests: 20, window: 1 minute }`, `maxSharedCooldown` 1 minute, `originTtl`
 * 5 minutes, `maxOrigins` 10 000.
 */
export const resolve = <K>(input: Input<K>, checks: Checks): Resolved<K> => {
  const { millis, show } = checks
  if (typeof input !== "object" || input === null) {
    return { _tag: "Problems", problems: [`options must be an object, got ${show(input)}`] }
  }
  const problems: Array<string> = []
  const count = (name: string, value: unknown, fallback: number, min: number): number =>
    optionChecks.wholeNumber(problems, name, value, fallback, min, show)
  const between = (name: string, value: unknown, fallback: number, min: number, max: number): number =>
    optionChecks.numberBetween(problems, name, value, fallback, min, max, show)
  const releaseSpread = millis(problems, "releaseSpread", input.releaseSpread, 20)
  if (input.cautiousStart !== undefined && typeof input.cautiousStart !== "boolean") {
    problems.push(`cautiousStart must be true or false, got ${show(input.cautiousStart)}`)
  }
  const limits = new Map<string, state.Limit>()
  if (input.limits !== undefined && (typeof input.limits !== "object" || input.limits === null)) {
    problems.push(`limits must be an object keyed by origin, got ${show(input.limits)}`)
  } else {
    for (const [origin, given] of Object.entries(input.limits ?? {})) {
      const limit = given as {
        readonly requests?: unknown
        readonly window?: unknown
        readonly burst?: unknown
        readonly backToBack?: unknown
      }
      const name = `limits["${origin}"]`
      const requests = count(`${name}.requests`, limit?.requests, 0, 1)
      const window = millis(problems, `${name}.window`, limit?.window, 0)
      if (window === 0) problems.push(`${name}.window must be more than zero`)
      const burst = limit?.burst === undefined ? requests : count(`${name}.burst`, limit.burst, 0, 1)
      if (burst > requests) problems.push(`${name}.burst must be at most its requests, got ${burst}`)
      const backToBack = limit?.backToBack === undefined ? false : limit.backToBack
      if (typeof backToBack !== "boolean") {
        problems.push(`${name}.backToBack must be true or false, got ${show(backToBack)}`)
      }
      limits.set(originOf(origin), { requests, window, burst, backToBack: backToBack === true })
    }
  }
  const budget = input.retryBudget === false
    ? undefined
    : (input.retryBudget ?? {}) as { readonly k?: unknown; readonly minRequests?: unknown; readonly window?: unknown }
  if (budget !== undefined && (typeof budget !== "object" || budget === null)) {
    problems.push(`retryBudget must be false or an object, got ${show(budget)}`)
  }
  const k = between("retryBudget.k", budget?.k, 2, 1, 1000)
  const minRequests = count("retryBudget.minRequests", budget?.minRequests, 20, 0)
  const window = millis(problems, "retryBudget.window", budget?.window, 60_000)
  if (window === 0) problems.push("retryBudget.window must be more than zero")
  const maxSharedCooldown = millis(problems, "maxSharedCooldown", input.maxSharedCooldown, 60_000)
  const ttl = millis(problems, "originTtl", input.originTtl, 300_000)
  const maxPartitions = count("maxOrigins", input.maxOrigins, 10_000, 1)
  if (input.key !== undefined && typeof input.key !== "function") {
    problems.push(`key must be a function of the request, got ${show(input.key)}`)
  }
  if (problems.length > 0) return { _tag: "Problems", problems }
  const settings: Settings<K> = {
    releaseSpread,
    key: input.key,
    config: {
      cautiousStart: (input.cautiousStart ?? true) as boolean,
      limits,
      maxSharedCooldown,
      retryThrottle: budget === undefined ? undefined : { k, minRequests, window },
      ttl,
      maxPartitions
    }
  }
  return { _tag: "Settings", settings }
}
