import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import type * as Scope from "effect/Scope"
import type * as Coordinator from "../Coordinator.js"
import * as state from "@effect-retry/engine/CoordinatorState"
import { InvalidRetryOptions } from "./invalidOptions.js"
import * as options from "./options.js"
import * as answer from "@effect-retry/engine/CoordinatorAnswer"
import * as serverHint from "./serverHint.js"

/** @internal */
export interface Settings {
  readonly releaseSpread: number
  readonly config: state.Config
  readonly key: ((request: Coordinator.RequestInfo) => string | undefined) | undefined
}

/** @internal */
export const resolve = (input: Coordinator.CoordinatorOptions = {}): Settings => {
  const problems: Array<string> = []
  if (typeof input !== "object" || input === null) {
    throw new InvalidRetryOptions({ problems: [`options must be an object, got ${options.show(input)}`] })
  }
  const releaseSpread = options.millis(problems, "releaseSpread", input.releaseSpread, "20 millis")
  if (input.cautiousStart !== undefined && typeof input.cautiousStart !== "boolean") {
    problems.push(`cautiousStart must be true or false, got ${options.show(input.cautiousStart)}`)
  }
  const limits = new Map<string, state.Limit>()
  if (input.limits !== undefined && (typeof input.limits !== "object" || input.limits === null)) {
    problems.push(`limits must be an object keyed by origin, got ${options.show(input.limits)}`)
  } else {
    for (const [origin, limit] of Object.entries(input.limits ?? {})) {
      const requests = options.integer(problems, `limits["${origin}"].requests`, limit?.requests, 0, 1)
      const window = options.millis(problems, `limits["${origin}"].window`, limit?.window, 0)
      if (window === 0) problems.push(`limits["${origin}"].window must be more than zero`)
      const burst = limit?.burst === undefined
        ? requests
        : options.integer(problems, `limits["${origin}"].burst`, limit.burst, 0, 1)
      if (burst > requests) problems.push(`limits["${origin}"].burst must be at most its requests, got ${burst}`)
      limits.set(originOf(origin), { requests, window, burst })
    }
  }
  const budget = input.retryBudget === false ? undefined : input.retryBudget ?? {}
  if (budget !== undefined && (typeof budget !== "object" || budget === null)) {
    problems.push(`retryBudget must be false or an object, got ${options.show(budget)}`)
  }
  const k = options.number(problems, "retryBudget.k", budget?.k, 2, 1, 1000)
  const minRequests = options.integer(problems, "retryBudget.minRequests", budget?.minRequests, 20, 0)
  const window = options.millis(problems, "retryBudget.window", budget?.window, "1 minute")
  if (window === 0) problems.push("retryBudget.window must be more than zero")
  const maxSharedCooldown = options.millis(problems, "maxSharedCooldown", input.maxSharedCooldown, "1 minute")
  const ttl = options.millis(problems, "originTtl", input.originTtl, "5 minutes")
  const maxPartitions = options.integer(problems, "maxOrigins", input.maxOrigins, 10_000, 1)
  if (input.key !== undefined && typeof input.key !== "function") {
    problems.push(`key must be a function of the request, got ${options.show(input.key)}`)
  }
  if (problems.length > 0) throw new InvalidRetryOptions({ problems })
  return {
    releaseSpread,
    key: input.key,
    config: {
      cautiousStart: input.cautiousStart ?? true,
      limits,
      maxSharedCooldown,
      retryThrottle: budget === undefined ? undefined : { k, minRequests, window },
      ttl,
      maxPartitions
    }
  }
}

/** The origin (scheme, host, port) of a URL, or the input itself when it is not an absolute URL. @internal */
export const originOf: (url: string) => string = answer.originOf

/** @internal */
export const holds = Metric.counter("http_client_coordinator_holds_total", {
  description: "Requests held by the coordinator (cooldown, pacing, or a first request learning the bucket)",
  incremental: true
})

/** @internal */
export const releases = Metric.counter("http_client_coordinator_releases_total", {
  description: "Held requests the coordinator released",
  incremental: true
})

/** @internal */
export const refusals = Metric.counter("http_client_coordinator_retry_refusals_total", {
  description: "Retries refused because the server accepts too few requests (adaptive retry budget)",
  incremental: true
})

/** @internal */
export class OriginHeld extends Data.TaggedError("OriginHeld")<{
  readonly origin: string
  readonly until: number
  readonly reason: Coordinator.HoldReason
}> {
  override get message(): string {
    if (this.reason === "retry-budget") {
      return `a retry to ${this.origin} was refused: the server accepts too few requests (retry budget)`
    }
    return `requests to ${this.origin} are held until ${
      instant(this.until)
    } (${this.reason}), past this call's deadline`
  }
}

/** An instant as an ISO date, or words when no date holds it. */
const instant = (millis: number): string =>
  Number.isFinite(millis) && Math.abs(millis) <= serverHint.MAX_AT_MILLIS
    ? new Date(millis).toISOString()
    : "a time past any date"

const spanEvent = (name: string, attributes: Record<string, unknown>) =>
  Effect.flatMap(Effect.option(Effect.currentSpan), (span) =>
    Option.isSome(span)
      ? Effect.flatMap(Clock.currentTimeNanos, (now) => Effect.sync(() => span.value.event(name, now, attributes)))
      : Effect.void)

/**
 * The answer's hints, read once: the rate-limit fields and the server's instant, as the state machine takes them.
 * @internal
 */
export const answerOf: (observed: Coordinator.Observed) => state.Answer = answer.answerOf

const outcomeOf = (exit: Exit.Exit<unknown, unknown>): state.Outcome =>
  exit._tag === "Success" ? "success" : exit.cause._tag === "Interrupt" ? "interrupted" : "failure"

/** A hold a call waited out, and the group it waited in. */
interface Waited {
  readonly hold: state.Hold
  readonly group: string
}

/** The sleep of Effect's own clock: under another (a TestClock), held calls wait through it instead of on timers. */
const liveSleep = Clock.make().sleep

/** @internal */
export const make = (settings: Settings): Effect.Effect<Coordinator.Coordinator> =>
  Effect.sync(() => {
    const machine = new state.CoordinatorState(settings.config)
    /** Held calls of a partition wait on its signal; it is completed (and dropped) when something changes. */
    const signals = new Map<string, Deferred.Deferred<void>>()
    const signalOf = (partition: string) => {
      let signal = signals.get(partition)
      if (signal === undefined) {
        signal = Deferred.unsafeMake<void>(FiberId.none)
        signals.set(partition, signal)
      }
      return signal
    }
    /**
     * On Effect's own clock, held calls wait on a timer and a callback: no fiber per wait. They are kept by partition
     * and by what holds them (route, attempt, reason), in the order they came: calls held for the same reason would
     * all be held again, so news wakes the first of each group, and each one let through wakes the next. A wake costs
     * what it lets through, not what waits.
     */
    const waiters = new Map<string, Map<string, Set<() => void>>>()
    const waitLive = (partition: string, group: string, millis: number): Effect.Effect<void> =>
      Effect.async<void>((resume) => {
        let groups = waiters.get(partition)
        if (groups === undefined) {
          groups = new Map()
          waiters.set(partition, groups)
        }
        let queue = groups.get(group)
        if (queue === undefined) {
          queue = new Set()
          groups.set(group, queue)
        }
        const own = groups
        const set = queue
        const leave = () => {
          clearTimeout(timer)
          set.delete(done)
          if (set.size === 0 && own.get(group) === set) {
            own.delete(group)
            if (own.size === 0 && waiters.get(partition) === own) waiters.delete(partition)
          }
        }
        const done = () => {
          leave()
          resume(Effect.void)
        }
        const timer = setTimeout(done, millis)
        set.add(done)
        return Effect.sync(leave)
      })
    /** Wakes the first call of a group, if one waits. */
    const wakeFirst = (queue: Set<() => void> | undefined) => {
      if (queue === undefined) return
      const first = queue.values().next()
      if (first.done !== true) first.value()
    }
    const wake = (partition: string) => {
      const groups = waiters.get(partition)
      if (groups !== undefined) {
        for (const queue of [...groups.values()]) wakeFirst(queue)
      }
      const signal = signals.get(partition)
      if (signal === undefined) return
      signals.delete(partition)
      Deferred.unsafeDone(signal, Effect.void)
    }
    /** A woken call that was let through (or gave up) wakes the next of its group. */
    const wakeNext = (partition: string, group: string) => wakeFirst(waiters.get(partition)?.get(group))

    const requestOf = (info: Coordinator.RequestInfo): state.Request => {
      const origin = originOf(info.url)
      const key = settings.key?.(info)
      return {
        partition: key === undefined ? origin : `${origin} ${key}`,
        origin,
        route: state.routeOf(info.url),
        attempt: info.attempt
      }
    }

    /**
     * Waits for the permit. It runs uninterruptibly but for the wait itself (`restore`): a permit taken is handed to
     * the caller, whose finalizer settles it, with no step in between where an interruption could lose it.
     */
    const acquire = (
      info: Coordinator.RequestInfo,
      restore: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
    ): Effect.Effect<state.Permit, OriginHeld> => {
      const request = requestOf(info)
      const deadline = info.deadline ?? Infinity
      // Only a retry draws a number (the retry budget's); a first attempt takes no step for it. `last` is the hold the
      // call waited out before this step, if any, and the group it waited in.
      const loop = (last: Waited | undefined): Effect.Effect<state.Permit, OriginHeld> =>
        request.attempt === "retry" ? Effect.flatMap(Random.next, (random) => step(last, random)) : step(last, 0)
      const step = (last: Waited | undefined, random: number): Effect.Effect<state.Permit, OriginHeld> =>
        Effect.clockWith((clock) => {
          const now = clock.unsafeCurrentTimeMillis()
          const admission = machine.admit(request, now, random)
          // A hold that would end past the call's deadline fails the call now, saying until when; one that ends with
          // an answer already on its way (its instant only bounds the wait) waits for it up to the deadline.
          const waits = admission instanceof state.Hold && !admission.refused && now < deadline &&
            (admission.answer || (admission.until ?? now) <= deadline)
          const group = waits ? `${request.route} ${request.attempt} ${admission.reason}` : undefined
          if (last !== undefined && group !== last.group) wakeNext(request.partition, last.group)
          if (admission instanceof state.Permit) {
            return last !== undefined
              ? Effect.as(
                Effect.zipRight(
                  Metric.increment(releases),
                  spanEvent("coordinator.release", { "server.address": request.origin })
                ),
                admission
              )
              : Effect.succeed(admission)
          }
          if (admission.refused) {
            return Effect.logDebug(`a retry to ${request.origin} was refused by the retry budget`).pipe(
              Effect.annotateLogs({ origin: request.origin }),
              Effect.zipRight(Metric.increment(refusals)),
              Effect.zipRight(spanEvent("coordinator.retry_refused", { "server.address": request.origin })),
              Effect.zipRight(
                Effect.fail(new OriginHeld({ origin: request.origin, until: now, reason: "retry-budget" }))
              )
            )
          }
          if (!waits) {
            return Effect.fail(
              new OriginHeld({ origin: request.origin, until: admission.until ?? deadline, reason: admission.reason })
            )
          }
          const wait = Effect.flatMap(
            admission.until === undefined ? Effect.succeed(0) : Random.next,
            (r) => {
              // Until the instant (and a random part of the spread), or a second when waiting for news; sooner
              // when something changes.
              const millis = admission.until === undefined
                ? Math.min(1000, Math.max(0, deadline - now))
                : Math.min(
                  options.MAX_TIMER_MILLIS,
                  Math.ceil(Math.max(0, admission.until - now) + (admission.spread ? r * settings.releaseSpread : 0)),
                  admission.answer ? Math.ceil(deadline - now) : Infinity
                )
              return clock.sleep === liveSleep
                ? waitLive(request.partition, group!, millis)
                : Effect.raceFirst(Effect.sleep(Duration.millis(millis)), Deferred.await(signalOf(request.partition)))
            }
          )
          // Every hold is logged once: the first, and each later one with another reason or instant (a held call
          // woken by news may be held again, for a new reason). The metric and the span event count held calls.
          const changed = last === undefined || last.hold.reason !== admission.reason ||
            last.hold.until !== admission.until
          const log = changed
            ? Effect.logDebug(`holding a request to ${request.origin}: ${admission.reason}`).pipe(
              Effect.annotateLogs({
                origin: request.origin,
                reason: admission.reason,
                until: admission.until === undefined ? "an answer" : instant(admission.until),
                // An answer to a request already sent ends the hold; `until` then only bounds the wait for it.
                ends: admission.answer ? "on an answer" : "at the instant"
              })
            )
            : Effect.void
          const announce = last !== undefined ? log : log.pipe(
            Effect.zipRight(Metric.increment(Metric.tagged(holds, "reason", admission.reason))),
            Effect.zipRight(
              spanEvent("coordinator.hold", { "server.address": request.origin, reason: admission.reason })
            )
          )
          const waited: Waited = { hold: admission, group: group! }
          return Effect.zipRight(announce, Effect.zipRight(restore(wait), Effect.suspend(() => loop(waited))))
        })
      return loop(undefined)
    }

    const settle = (permit: Coordinator.Permit, exit: Exit.Exit<unknown, unknown>) =>
      permit.settled ? Effect.void : Effect.clockWith((clock) =>
        Effect.sync(() => {
          const settled = machine.settle(permit as state.Permit, outcomeOf(exit), clock.unsafeCurrentTimeMillis())
          if (settled) wake(permit.partition)
        })
      )

    const withPermit = <A, E, R>(
      info: Coordinator.RequestInfo,
      use: (permit: Coordinator.Permit) => Effect.Effect<A, E, R>
    ): Effect.Effect<A, E | OriginHeld, R> =>
      Effect.uninterruptibleMask((restore) =>
        Effect.flatMap(acquire(info, restore), (permit) =>
          Effect.onExit(restore(use(permit)), (exit) => settle(permit, exit)))
      )

    const permit = (info: Coordinator.RequestInfo): Effect.Effect<Coordinator.Permit, OriginHeld, Scope.Scope> =>
      Effect.uninterruptibleMask((restore) =>
        Effect.tap(acquire(info, restore), (permit) =>
          Effect.addFinalizer((exit) => settle(permit, exit)))
      )

    const observe = (permit: Coordinator.Permit, observed: Coordinator.Observed): Effect.Effect<void> =>
      Effect.sync(() => {
        if (machine.observe(permit as state.Permit, answerOf(observed))) wake(permit.partition)
      })

    const size = Effect.clockWith((clock) => Effect.sync(() => machine.size(clock.unsafeCurrentTimeMillis())))

    return { withPermit, permit, observe, size } satisfies Coordinator.Coordinator
  })

/** @internal */
export const tag = Context.GenericTag<Coordinator.Coordinator>("@effect-retry/core/Coordinator")

/** @internal */
export const current = Effect.serviceOption(tag)
