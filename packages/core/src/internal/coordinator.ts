import * as Clock from "effect/Clock"
import * as Data from "effect/Data"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberId from "effect/FiberId"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import type * as Coordinator from "../Coordinator.js"
import * as options from "./options.js"
import * as rateLimit from "./rateLimit.js"
import * as serverHint from "./serverHint.js"
import { InvalidRetryOptions } from "./invalidOptions.js"

/** @internal */
export interface Settings {
  readonly releaseSpread: number
  readonly cautiousStart: boolean
  readonly limits: ReadonlyMap<string, { readonly requests: number; readonly window: number }>
  readonly retryRatio: number
  readonly minRetries: number
  readonly retryWindow: number
  readonly retryBudget: boolean
  readonly originTtl: number
  readonly maxOrigins: number
}

/** @internal */
export const resolve = (input: Coordinator.CoordinatorOptions = {}): Settings => {
  const problems: Array<string> = []
  const releaseSpread = options.millis(problems, "releaseSpread", input.releaseSpread, "20 millis")
  if (input.cautiousStart !== undefined && typeof input.cautiousStart !== "boolean") {
    problems.push(`cautiousStart must be true or false, got ${options.show(input.cautiousStart)}`)
  }
  const limits = new Map<string, { requests: number; window: number }>()
  for (const [origin, limit] of Object.entries(input.limits ?? {})) {
    const requests = options.integer(problems, `limits["${origin}"].requests`, limit?.requests, 0, 1)
    const window = options.millis(problems, `limits["${origin}"].window`, limit?.window, 0)
    if (window === 0) problems.push(`limits["${origin}"].window must be more than zero`)
    limits.set(originOf(origin), { requests, window })
  }
  const budget = input.retryBudget === false ? undefined : input.retryBudget ?? {}
  const retryRatio = options.number(problems, "retryBudget.ratio", budget?.ratio, 0.1, 0, 1000)
  const minRetries = options.integer(problems, "retryBudget.minRetries", budget?.minRetries, 3, 0)
  const retryWindow = options.millis(problems, "retryBudget.window", budget?.window, "10 seconds")
  if (retryWindow === 0) problems.push("retryBudget.window must be more than zero")
  const originTtl = options.millis(problems, "originTtl", input.originTtl, "5 minutes")
  const maxOrigins = options.integer(problems, "maxOrigins", input.maxOrigins, 10_000, 1)
  if (problems.length > 0) throw new InvalidRetryOptions({ problems })
  return {
    releaseSpread,
    cautiousStart: input.cautiousStart ?? true,
    limits,
    retryRatio,
    minRetries,
    retryWindow,
    retryBudget: budget !== undefined,
    originTtl,
    maxOrigins
  }
}

/** The origin (scheme, host, port) of a URL, or the input itself when it is not an absolute URL. @internal */
export const originOf = (url: string): string => {
  // The same origin as the last URL (the common case: a client calls one API): the very same string is returned,
  // so the map of origins finds it without hashing a new one.
  const last = lastOrigin
  if (url.startsWith(last) && endsAuthority(url, last.length)) return last
  const origin = readOrigin(url)
  // Only an http(s) origin is kept: "null" (the origin of file: or data: URLs) or a non-URL must not match others.
  if (origin.startsWith("http://") || origin.startsWith("https://")) lastOrigin = origin
  return origin
}

/** The origin `originOf` found last; a string no URL starts with until then. */
let lastOrigin = "\u0000"

const readOrigin = (url: string): string => {
  // Whenever the origin changes: the common case (plain http(s), a lower-case name or a dotted-quad IPv4 address, no
  // userinfo, a port without leading zeros) is read in place and costs at most one slice; anything the URL parser
  // would rewrite (IPv6, other IPv4 spellings, upper case, userinfo...) goes to it.
  const start = url.startsWith("http://") ? 7 : url.startsWith("https://") ? 8 : 0
  if (start === 0) return parsedOrigin(url)
  let i = start
  let lastLabel = start
  while (i < url.length && isHostChar(url.charCodeAt(i))) {
    if (url.charCodeAt(i) === 46) lastLabel = i + 1
    i++
  }
  // Rare spellings the parser checks or rewrites: an empty host, a trailing dot, punycode.
  if (i === start || url.charCodeAt(i - 1) === 46) return parsedOrigin(url)
  const punycode = url.indexOf("xn--", start)
  if (punycode >= 0 && punycode < i) return parsedOrigin(url)
  // A host whose last label starts with a digit is an IPv4 address to the parser: only the canonical spelling is kept.
  if (isDigit(url.charCodeAt(lastLabel)) && !isDottedQuad(url, start, i)) return parsedOrigin(url)
  const hostEnd = i
  if (url.charCodeAt(i) === 58 /* : */) {
    let port = 0
    while (++i < url.length && isDigit(url.charCodeAt(i)) && i - hostEnd <= 5) port = port * 10 + url.charCodeAt(i) - 48
    const digits = i - hostEnd - 1
    if (digits === 0 || url.charCodeAt(hostEnd + 1) === 48 /* 0 */ || port > 65535) return parsedOrigin(url)
    if (!endsAuthority(url, i)) return parsedOrigin(url)
    return port === (start === 8 ? 443 : 80) ? url.slice(0, hostEnd) : i === url.length ? url : url.slice(0, i)
  }
  if (!endsAuthority(url, i)) return parsedOrigin(url)
  return i === url.length ? url : url.slice(0, i)
}

const parsedOrigin = (url: string): string => {
  try {
    return new URL(url).origin
  } catch {
    return url
  }
}

const isDigit = (c: number) => c >= 48 && c <= 57
/** Lower-case letters, digits, "." and "-". */
const isHostChar = (c: number) => (c >= 97 && c <= 122) || isDigit(c) || c === 46 || c === 45
/** Four numbers from 0 to 255 without leading zeros, separated by dots: an IPv4 address as the parser writes it. */
const isDottedQuad = (url: string, from: number, to: number) => {
  let parts = 0
  let i = from
  while (i <= to) {
    let value = 0
    const first = i
    while (i < to && isDigit(url.charCodeAt(i))) value = value * 10 + url.charCodeAt(i++) - 48
    const digits = i - first
    if (digits === 0 || digits > 3 || value > 255 || (digits > 1 && url.charCodeAt(first) === 48)) return false
    parts++
    if (i === to) break
    if (url.charCodeAt(i) !== 46) return false
    i++
  }
  return parts === 4
}
/** The authority ends at the end of the URL or at "/", "?" or "#". */
const endsAuthority = (url: string, i: number) => {
  if (i === url.length) return true
  const c = url.charCodeAt(i)
  return c === 47 || c === 63 || c === 35
}

interface OriginState {
  /** No request is admitted before this instant (a server hint). */
  cooldownUntil: number
  /** Requests per window, configured or learned from the headers. */
  limit: number | undefined
  /** Window length, configured or learned from `RateLimit-Policy`. */
  windowMillis: number | undefined
  /** When the server's current window ends, as far as we know. */
  windowEnd: number | undefined
  /** Requests that may still be admitted before `windowEnd`; undefined when the budget is unknown. */
  allowance: number | undefined
  /** A first request is out learning the origin's budget; the others wait for its answer. */
  probing: boolean
  /** When that request was sent: a probe that has not answered within PROBE_PATIENCE_MILLIS is given up on. */
  probingSince: number
  /** The origin has answered at least once. */
  learned: boolean
  /** Retry budget window. */
  budgetStart: number
  firstAttempts: number
  retries: number
  /** Requests admitted in this window, and how many of them have been answered (or handed back). */
  sent: number
  answered: number
  /** When the last request was admitted. */
  lastSentAt: number
  /** When the previous window ended, as far as we knew. */
  previousWindowEnd: number | undefined
  /** The window's end was set from an answer (the server's clock), not only from when we first sent. */
  anchored: boolean
  /** Counts windows, so an answer to a request of an earlier window is not taken for news of this one. */
  generation: number
  /** Completed and replaced whenever something that may admit waiters changes. */
  changed: Deferred.Deferred<void>
  lastUsed: number
}

/**
 * How long the other calls wait for the first request's answer before another request may go and learn instead.
 * @internal
 */
export const PROBE_PATIENCE_MILLIS = 5_000

/**
 * Without rate-limit headers seen, one successful answer in this many is read for them.
 * @internal
 */
export const LEARN_EVERY = 16

/**
 * News of a window this soon after it opened tells the window's length.
 * @internal
 */
export const WINDOW_START_MILLIS = 250

/** @internal */
export const holds = Metric.counter("http_client_coordinator_holds_total", {
  description: "Requests held by the origin coordinator (cooldown, pacing or a first request learning the budget)",
  incremental: true
})

/** @internal */
export const releases = Metric.counter("http_client_coordinator_releases_total", {
  description: "Held requests the origin coordinator released",
  incremental: true
})

/** @internal */
export const refusals = Metric.counter("http_client_coordinator_retry_refusals_total", {
  description: "Retries refused because the origin's retry budget was empty",
  incremental: true
})

/** A request that may not go yet: until when (unknown while waiting for news), and why. */
class Wait {
  constructor(
    readonly until: number | undefined,
    readonly changed: Deferred.Deferred<void>,
    readonly why: Coordinator.HoldReason
  ) {}
}

/** @internal */
export class OriginHeld extends Data.TaggedError("OriginHeld")<{
  readonly origin: string
  readonly until: number
  readonly reason: Coordinator.HoldReason
}> {
  override get message(): string {
    const until = Number.isFinite(this.until) && Math.abs(this.until) < 8.64e15
      ? new Date(this.until).toISOString()
      : String(this.until)
    return `requests to ${this.origin} are held until ${until} (${this.reason}), past this call's budget`
  }
}

const spanEvent = (name: string, attributes: Record<string, unknown>) =>
  Effect.flatMap(Effect.option(Effect.currentSpan), (span) =>
    Option.isSome(span)
      ? Effect.flatMap(Clock.currentTimeNanos, (now) => Effect.sync(() => span.value.event(name, now, attributes)))
      : Effect.void)

/** @internal */
export const make = (settings: Settings): Effect.Effect<Coordinator.Coordinator> =>
  Effect.sync(() => {
    const origins = new Map<string, OriginState>()
    /** The origin last in `origins`, the most recently used. */
    let newest: string | undefined

    const fresh = (origin: string, now: number): OriginState => {
      const configured = settings.limits.get(origin)
      return {
        cooldownUntil: 0,
        limit: configured?.requests,
        windowMillis: configured?.window,
        windowEnd: undefined,
        allowance: configured?.requests,
        probing: false,
        probingSince: 0,
        learned: configured !== undefined,
        budgetStart: now,
        firstAttempts: 0,
        retries: 0,
        sent: 0,
        answered: 0,
        lastSentAt: 0,
        previousWindowEnd: undefined,
        anchored: false,
        generation: 0,
        changed: Deferred.unsafeMake<void>(FiberId.none),
        lastUsed: now
      }
    }

    const learning = (state: OriginState, now: number) =>
      state.probing && now - state.probingSince < PROBE_PATIENCE_MILLIS

    const expired = (state: OriginState, now: number) =>
      now - state.lastUsed > settings.originTtl && !learning(state, now) && now >= state.cooldownUntil

    const sweep = (now: number) => {
      for (const [key, state] of origins) {
        if (expired(state, now)) origins.delete(key)
      }
      // Still too many: drop the least recently used (the map keeps them in order of use), sparing origins that
      // are cooling down or learning while others can go.
      let excess = origins.size - settings.maxOrigins + 1
      for (const pass of [true, false]) {
        for (const [key, state] of origins) {
          if (excess <= 0) return
          if (pass && (learning(state, now) || now < state.cooldownUntil)) continue
          origins.delete(key)
          excess--
        }
      }
    }

    const stateOf = (origin: string, now: number): OriginState => {
      let state = origins.get(origin)
      if (state !== undefined && expired(state, now)) {
        origins.delete(origin)
        state = undefined
      }
      if (state === undefined) {
        if (origins.size >= settings.maxOrigins || origins.size % 256 === 255) sweep(now)
        state = fresh(origin, now)
        origins.set(origin, state)
        newest = origin
      }
      if (state.lastUsed !== now) {
        // Keep the map in order of use, the least recent first (the most recent is already last).
        if (newest !== origin) {
          origins.delete(origin)
          origins.set(origin, state)
          newest = origin
        }
        state.lastUsed = now
      }
      return state
    }

    const notify = (state: OriginState) => {
      const previous = state.changed
      state.changed = Deferred.unsafeMake<void>(FiberId.none)
      Deferred.unsafeDone(previous, Effect.void)
    }

    /** Moves the state past a window that has ended: the quota is full again. */
    const roll = (state: OriginState, now: number) => {
      if (state.windowEnd === undefined || now < state.windowEnd) return
      state.generation++
      state.previousWindowEnd = state.windowEnd
      state.anchored = false
      state.sent = 0
      state.answered = 0
      if (state.limit === undefined) {
        state.allowance = undefined
        state.windowEnd = undefined
        return
      }
      state.allowance = state.limit
      state.windowEnd = state.windowMillis === undefined
        ? undefined
        : state.windowEnd + Math.ceil((now - state.windowEnd + 1) / state.windowMillis) * state.windowMillis
    }

    /** Starts a new retry-budget window when the current one has ended. */
    const rollBudget = (state: OriginState, now: number) => {
      if (now - state.budgetStart >= settings.retryWindow) {
        state.budgetStart = now
        state.firstAttempts = 0
        state.retries = 0
      }
    }

    const decide = (origin: string, first: boolean, now: number): Coordinator.Permit | Wait => {
      const state = stateOf(origin, now)
      if (now < state.cooldownUntil) {
        return new Wait(state.cooldownUntil, state.changed, "cooldown")
      }
      roll(state, now)
      let probe = false
      if (settings.cautiousStart && !state.learned) {
        if (learning(state, now)) {
          return new Wait(state.probingSince + PROBE_PATIENCE_MILLIS, state.changed, "learning")
        }
        // The first request, or the next one after a first that got no answer in time.
        state.probing = true
        state.probingSince = now
        probe = true
      } else if (state.allowance !== undefined) {
        if (state.allowance <= 0) {
          if (state.windowEnd === undefined && state.limit !== undefined && state.windowMillis !== undefined) {
            // A configured limit with no window seen yet: the window starts now.
            state.windowEnd = now + state.windowMillis
          }
          if (state.windowEnd !== undefined) {
            return new Wait(state.windowEnd, state.changed, "pacing")
          }
          // A window of unknown length with its quota spent: wait for the answers still out to tell of the next one,
          // but not for ever (an answer may never come: an interrupted call); then let one go and learn.
          if (state.sent > state.answered && now - state.lastSentAt < PROBE_PATIENCE_MILLIS) {
            return new Wait(state.lastSentAt + PROBE_PATIENCE_MILLIS, state.changed, "pacing")
          }
        } else {
          if (state.windowEnd === undefined && state.windowMillis !== undefined) state.windowEnd = now + state.windowMillis
          state.allowance--
        }
      }
      if (first) {
        rollBudget(state, now)
        state.firstAttempts++
      }
      state.sent++
      state.lastSentAt = now
      // Reading a response's headers costs the caller a header record per response: ask for them when they can
      // change a decision (learning, or pacing an origin that sends rate-limit headers), and on one answer in
      // LEARN_EVERY otherwise, to notice an origin that starts sending them. Failures are always reported.
      const learn = probe || state.allowance !== undefined || state.sent % LEARN_EVERY === 1
      return { origin, generation: state.generation, probe, learn }
    }

    const admit = (
      origin: string,
      first: boolean,
      deadline: number = Infinity
    ): Effect.Effect<Coordinator.Permit, OriginHeld> => {
      // One runtime step on the way in: this runs before every request.
      const loop = (held: boolean): Effect.Effect<Coordinator.Permit, OriginHeld> =>
        Effect.clockWith((clock) => {
          const now = clock.unsafeCurrentTimeMillis()
          const admission = decide(origin, first, now)
          if (!(admission instanceof Wait)) {
            // Uninterruptible: the permit is taken, it must reach the caller.
            return held
              ? Effect.uninterruptible(Effect.as(
                Effect.zipRight(
                  Metric.increment(releases),
                  spanEvent("coordinator.release", { "server.address": origin })
                ),
                admission
              ))
              : Effect.succeed(admission)
          }
          // A hold that would end past the call's deadline fails the call now, saying until when.
          if ((admission.until ?? now) > deadline || now >= deadline) {
            return Effect.fail(
              new OriginHeld({ origin, until: admission.until ?? deadline, reason: admission.why })
            )
          }
          const wake = admission.until === undefined
            ? Deferred.await(admission.changed).pipe(Effect.timeout(Duration.seconds(1)), Effect.ignore)
            : Effect.flatMap(Random.next, (r) =>
              Effect.raceFirst(
                Effect.sleep(Duration.millis(Math.min(
                  options.MAX_TIMER_MILLIS,
                  Math.ceil(Math.max(0, admission.until! - now) + r * settings.releaseSpread)
                ))),
                Deferred.await(admission.changed)
              ))
          const announce = held ? Effect.void : Effect.logDebug(`holding a request to ${origin}: ${admission.why}`).pipe(
            Effect.annotateLogs({ origin, reason: admission.why, until: admission.until ?? "its first answer" }),
            Effect.zipRight(Metric.increment(Metric.tagged(holds, "reason", admission.why))),
            Effect.zipRight(spanEvent("coordinator.hold", { "server.address": origin, reason: admission.why }))
          )
          return Effect.zipRight(announce, Effect.zipRight(wake, loop(true)))
        })
      return loop(false)
    }

    const observe = (
      permit: Coordinator.Permit,
      response: Coordinator.Observed
    ): Effect.Effect<void> =>
      Effect.sync(() => {
        const now = response.receivedAt
        const hint = response.status === 429 || response.status === 503
          ? serverHint.fromHeaders(response.headers, now)
          : undefined
        const state = stateOf(permit.origin, now)
        const wasLearning = !state.learned
        state.learned = true
        state.probing = false
        roll(state, now)
        // An answer to a request sent in an earlier window says nothing about this one.
        const current = permit.generation === state.generation
        if (current) state.answered++
        const info = current ? rateLimit.parse(response.headers, now) : undefined
        if (info !== undefined) {
          const resetAt = now + info.resetMillis
          state.limit = info.limit ?? Math.max(state.limit ?? 0, info.remaining + 1)
          if (info.windowMillis !== undefined) state.windowMillis = info.windowMillis
          if (state.windowEnd === undefined || state.allowance === undefined) {
            // The first news of this window: take the server's word, less what is still on its way to it.
            const opened = state.previousWindowEnd
            if (
              state.windowMillis === undefined && opened !== undefined && now - opened < WINDOW_START_MILLIS &&
              info.resetMillis > now - opened
            ) {
              // Told right as the window opened: the time to its reset is the window's length (rounded up, so later
              // windows are never thought to open early). The next windows follow from it, without the wait for news,
              // and so does this one: it opened when the previous one ended, however late this answer arrived.
              state.windowMillis = info.resetMillis
              state.windowEnd = Math.min(resetAt, opened + info.resetMillis)
            } else {
              state.windowEnd = resetAt
            }
            state.allowance = Math.max(0, info.remaining - (state.sent - state.answered))
          } else {
            // Reset times are rounded up to whole seconds: the earliest one told is the closest to the truth.
            state.windowEnd = Math.min(state.windowEnd, resetAt)
            state.allowance = Math.min(state.allowance, info.remaining)
          }
        }
        if (info === undefined && current && !state.anchored && state.windowMillis !== undefined && state.windowEnd !== undefined) {
          // A known limit and no headers: the server started counting this window at the latest when it answered
          // our first request of it, so the window cannot end before that answer plus its length.
          state.windowEnd = Math.max(state.windowEnd, now + state.windowMillis)
          state.anchored = true
        }
        if (info !== undefined) state.anchored = true
        // A 503's hint is the server's word whatever window the request was sent in (maintenance, overload); a 429's
        // speaks of the window the request was sent in, and an answer from an earlier window would stall this one.
        const explicit = hint !== undefined && response.status === 503
        if (hint !== undefined && (explicit || current || state.limit === undefined)) {
          state.cooldownUntil = Math.max(state.cooldownUntil, hint.at)
          if (response.status === 429) state.allowance = 0
          if (state.windowEnd === undefined || state.windowEnd < hint.at) state.windowEnd = hint.at
        }
        if (wasLearning || info !== undefined) notify(state)
      })

    const release = (permit: Coordinator.Permit): Effect.Effect<void> =>
      Effect.sync(() => {
        const state = origins.get(permit.origin)
        if (state === undefined) return
        if (permit.generation === state.generation) state.answered++
        if (permit.probe && state.probing) {
          // The first request ended without an answer: let the next waiter try.
          state.probing = false
          notify(state)
        }
      })

    const allowRetry = (origin: string): Effect.Effect<boolean> =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => {
        if (!settings.retryBudget) return Effect.succeed(true)
        const state = stateOf(origin, now)
        rollBudget(state, now)
        const allowed = settings.minRetries + settings.retryRatio * state.firstAttempts - state.retries >= 1
        if (allowed) {
          state.retries++
          return Effect.succeed(true)
        }
        return Effect.logDebug(`retry budget of ${origin} is empty`).pipe(
          Effect.annotateLogs({ origin, firstAttempts: state.firstAttempts, retries: state.retries }),
          Effect.zipRight(Metric.increment(refusals)),
          Effect.zipRight(spanEvent("coordinator.retry_refused", { "server.address": origin })),
          Effect.as(false)
        )
      })

    const size = Effect.flatMap(Clock.currentTimeMillis, (now) =>
      Effect.sync(() => {
        for (const [key, state] of origins) if (expired(state, now)) origins.delete(key)
        return origins.size
      }))

    const unsafeAdmit = (origin: string, first: boolean, now: number): Coordinator.Permit | undefined => {
      const admission = decide(origin, first, now)
      return admission instanceof Wait ? undefined : admission
    }

    return { admit, unsafeAdmit, observe, release, allowRetry, size } satisfies Coordinator.Coordinator
  })

/** @internal */
export const tag = Context.GenericTag<Coordinator.Coordinator>("@effect-retry/core/Coordinator")

/** @internal */
export const current = Effect.serviceOption(tag)
