import type * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import * as LogLevel from "effect/LogLevel"
import * as Metric from "effect/Metric"
import * as MetricKey from "effect/MetricKey"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import type * as Scope from "effect/Scope"
import * as Tracer from "effect/Tracer"
import type * as Coordinator from "../Coordinator.js"
import * as answer from "@effect-retry/engine/CoordinatorAnswer"
import * as CoordinatorPlan from "@effect-retry/engine/CoordinatorPlan"
import * as state from "@effect-retry/engine/CoordinatorState"
import { InvalidRetryOptions } from "./invalidOptions.js"
import * as options from "./options.js"

/** @internal */
export type Settings = CoordinatorPlan.Settings<(request: Coordinator.RequestInfo) => string | undefined>

/** Reads the options, or throws `InvalidRetryOptions` listing every problem. @internal */
export const resolve = (input: Coordinator.CoordinatorOptions = {}): Settings => {
  const resolved = CoordinatorPlan.resolve(input, { millis: options.millis, show: options.show })
  if (resolved._tag === "Problems") throw new InvalidRetryOptions({ problems: resolved.problems })
  return resolved.settings
}

/** The origin (scheme, host, port) of a URL, or the input itself when it is not an absolute URL. @internal */
export const originOf: (url: string) => string = answer.originOf

const keyOf = (metric: CoordinatorPlan.MetricInfo) =>
  MetricKey.counter(metric.name, { description: metric.description, incremental: true })

const counter = (metric: CoordinatorPlan.MetricInfo) => Metric.fromMetricKey(keyOf(metric))

const holdsKey = keyOf(CoordinatorPlan.HOLDS)

/** @internal */
export const holds = Metric.fromMetricKey(holdsKey)

/**
 * The held-calls counter of each reason, made once from a key that carries its tag: a hold builds no metric key
 * (`Metric.tagged` builds and hashes one on every update).
 */
const holdsBy = new Map<string, Metric.Metric.Counter<number>>()
const holdsOf = (reason: string): Metric.Metric.Counter<number> => {
  let metric = holdsBy.get(reason)
  if (metric === undefined) {
    metric = Metric.fromMetricKey(MetricKey.tagged(holdsKey, "reason", reason))
    holdsBy.set(reason, metric)
  }
  return metric
}

/** @internal */
export const releases = counter(CoordinatorPlan.RELEASES)

/** @internal */
export const refusals = counter(CoordinatorPlan.REFUSALS)

/** @internal */
export class OriginHeld extends Data.TaggedError("OriginHeld")<{
  readonly origin: string
  readonly until: number
  readonly reason: Coordinator.HoldReason
}> {
  override get message(): string {
    return CoordinatorPlan.heldMessage(this.origin, this.until, this.reason)
  }
}

/**
 * An event on the current span, when there is one. (Read from the context: `Effect.currentSpan` fails without a span,
 * and that failure builds an error, stack and all, for every held call of a burst.)
 */
const spanEvent = (name: string, attributes: Record<string, unknown>) =>
  Effect.flatMap(Effect.serviceOption(Tracer.ParentSpan), (span) => {
    if (Option.isNone(span) || span.value._tag !== "Span") return Effect.void
    const current = span.value
    return Effect.flatMap(Clock.currentTimeNanos, (now) => Effect.sync(() => current.event(name, now, attributes)))
  })

/**
 * The answer's hints, read once: the rate-limit fields and the server's instant, as the state machine takes them.
 * @internal
 */
export const answerOf: (observed: Coordinator.Observed, skew?: number) => state.Answer = answer.answerOf

/** How a request under a permit failed: interrupted, or otherwise. */
const failureOf = (cause: Cause.Cause<unknown>): state.Outcome => cause._tag === "Interrupt" ? "interrupted" : "failure"

const outcomeOf = (exit: Exit.Exit<unknown, unknown>): state.Outcome =>
  exit._tag === "Success" ? "success" : failureOf(exit.cause)

type Waited = CoordinatorPlan.Waited

/** The sleep of Effect's own clock: under another (a TestClock), held calls wait through it instead of on timers. */
const liveSleep = Clock.make().sleep

/** @internal */
export const make = (settings: Settings): Effect.Effect<Coordinator.Coordinator> =>
  Effect.sync(() => {
    const machine = new state.CoordinatorState(settings.config)
    /** The machine's time: the monotonic clock, on the wall clock's scale (a step of the wall clock moves no hold). */
    const timeline = new CoordinatorPlan.Timeline()
    const nowOf = (clock: Clock.Clock) => timeline.now(clock.unsafeCurrentTimeMillis(), clock.unsafeCurrentTimeNanos())
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
     * and group; news wakes the first of each group, and each one let through wakes the next.
     */
    const waiters = new CoordinatorPlan.Waiters<() => void>()
    const waitLive = (partition: string, group: string, millis: number): Effect.Effect<void> =>
      Effect.async<void>((resume) => Effect.sync(waiters.park(partition, group, millis, () => resume(Effect.void))))
    /** Wakes the first call of a group, if one waits. */
    const wakeFirst = (partition: string, group: string) => waiters.takeFirst(partition, group)?.()
    const wake = (partition: string) => {
      for (const group of waiters.groups(partition)) wakeFirst(partition, group)
      const signal = signals.get(partition)
      if (signal === undefined) return
      signals.delete(partition)
      Deferred.unsafeDone(signal, Effect.void)
    }

    /**
     * Waits for the permit. It runs uninterruptibly but for the wait itself (`restore`): a permit taken is handed to
     * the caller, whose finalizer settles it, with no step in between where an interruption could lose it.
     */
    const acquire = (
      request: state.Request,
      deadline: number,
      restore: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>,
      first?: state.Hold
    ): Effect.Effect<state.Permit, OriginHeld> => {
      const origin = request.origin
      // Only a retry draws a number (the retry budget's); a first attempt takes no step for it. `last` is the hold the
      // call waited out before this step, if any, and the group it waited in.
      const loop = (last: Waited | undefined): Effect.Effect<state.Permit, OriginHeld> =>
        request.attempt === "retry" ? Effect.flatMap(Random.next, (random) => step(last, random)) : step(last, 0)
      const step = (last: Waited | undefined, random: number): Effect.Effect<state.Permit, OriginHeld> =>
        Effect.clockWith((clock) => {
          const wall = clock.unsafeCurrentTimeMillis()
          const now = timeline.now(wall, clock.unsafeCurrentTimeNanos())
          // (Instants on the wall clock in and out: the deadline, an error's `until`, a log line's.)
          const skew = wall - now
          // (The first step of a first attempt was taken already, at the same instant: see `withPermit`.)
          const admission = first ?? machine.admit(request, now, random)
          first = undefined
          const next = CoordinatorPlan.plan(request, admission, now, deadline - skew, settings.releaseSpread, last)
          // A call woken and let through (or gone to another group) wakes the next of its group.
          const left = CoordinatorPlan.leaves(last, next)
          if (left !== undefined) wakeFirst(request.partition, left)
          switch (next._tag) {
            case "Go":
              return last === undefined ? Effect.succeed(next.permit) : Effect.as(
                Effect.zipRight(
                  Metric.increment(releases),
                  spanEvent(CoordinatorPlan.EVENTS.release, { "server.address": origin })
                ),
                next.permit
              )
            case "Refused":
              return Effect.logDebug(CoordinatorPlan.refusedMessage(origin)).pipe(
                Effect.annotateLogs({ origin }),
                Effect.zipRight(Metric.increment(refusals)),
                Effect.zipRight(spanEvent(CoordinatorPlan.EVENTS.refused, { "server.address": origin })),
                Effect.zipRight(Effect.fail(new OriginHeld({ origin, until: wall, reason: "retry-budget" })))
              )
            case "Stop":
              return Effect.fail(new OriginHeld({ origin, until: next.until + skew, reason: next.reason }))
          }
          const { hold, group } = next.waited
          const wait = Effect.flatMap(
            next.draws ? Random.next : Effect.succeed(0),
            (draw) => {
              const millis = next.millis(draw)
              return clock.sleep === liveSleep
                ? waitLive(request.partition, group, millis)
                : Effect.raceFirst(Effect.sleep(Duration.millis(millis)), Deferred.await(signalOf(request.partition)))
            }
          )
          // Every hold is logged once: the first, and each later one with another reason or instant (a held call
          // woken by news may be held again, for a new reason). The metric and the span event count held calls.
          // (Its annotations are written only when debug logs are on: a burst's held calls cost no dates otherwise.)
          const log = next.changed
            ? Effect.whenLogLevel(
              Effect.suspend(() =>
                Effect.annotateLogs(
                  Effect.logDebug(CoordinatorPlan.holdMessage(origin, hold.reason)),
                  CoordinatorPlan.holdAnnotations(origin, hold, skew)
                )
              ),
              LogLevel.Debug
            )
            : Effect.void
          const announce = last !== undefined ? log : log.pipe(
            Effect.zipRight(Metric.increment(holdsOf(hold.reason))),
            Effect.zipRight(spanEvent(CoordinatorPlan.EVENTS.hold, { "server.address": origin, reason: hold.reason }))
          )
          return Effect.zipRight(announce, Effect.zipRight(restore(wait), Effect.suspend(() => loop(next.waited))))
        })
      return loop(undefined)
    }

    /** Hands a permit back, now. */
    const settleNow = (permit: Coordinator.Permit, outcome: state.Outcome, clock: Clock.Clock) => {
      if (!permit.settled && machine.settle(permit as state.Permit, outcome, nowOf(clock))) wake(permit.partition)
    }

    const settle = (permit: Coordinator.Permit, exit: Exit.Exit<unknown, unknown>) =>
      permit.settled
        ? Effect.void
        : Effect.clockWith((clock) => Effect.sync(() => settleNow(permit, outcomeOf(exit), clock)))

    const requestOf = (info: Coordinator.RequestInfo) =>
      CoordinatorPlan.requestOf(info.url, info.attempt, settings.key?.(info))

    /**
     * Runs `use` under a permit, and hands it back however `use` ends. A first attempt let through at once (the
     * common case) takes its permit in the step that reads the clock, and is handed back in the handlers of its
     * outcome: every step here runs before and after each request.
     */
    const withPermit = <A, E, R>(
      info: Coordinator.RequestInfo,
      use: (permit: Coordinator.Permit) => Effect.Effect<A, E, R>
    ): Effect.Effect<A, E | OriginHeld, R> =>
      Effect.uninterruptibleMask((restore) =>
        Effect.withFiberRuntime<A, E | OriginHeld, R>((fiber) => {
          const clock = Context.get(fiber.currentDefaultServices, Clock.Clock)
          const run = (permit: state.Permit) =>
            Effect.matchCauseEffect(restore(use(permit)), {
              onFailure: (cause) => {
                settleNow(permit, failureOf(cause), clock)
                return Effect.failCause(cause)
              },
              onSuccess: (value) => {
                settleNow(permit, "success", clock)
                return Effect.succeed(value)
              }
            })
          const request = requestOf(info)
          const deadline = info.deadline ?? Infinity
          const admission = CoordinatorPlan.admitAtOnce(machine, request, nowOf(clock))
          return admission instanceof state.Permit
            ? run(admission)
            : Effect.flatMap(acquire(request, deadline, restore, admission), run)
        })
      )

    const permit = (info: Coordinator.RequestInfo): Effect.Effect<Coordinator.Permit, OriginHeld, Scope.Scope> =>
      Effect.uninterruptibleMask((restore) =>
        Effect.tap(
          acquire(requestOf(info), info.deadline ?? Infinity, restore),
          (permit) => Effect.addFinalizer((exit) => settle(permit, exit))
        )
      )

    const observe = (permit: Coordinator.Permit, observed: Coordinator.Observed): Effect.Effect<void> =>
      Effect.clockWith((clock) =>
        Effect.sync(() => {
          // (An answer of a permit that wants none, which says nothing of limits, is what a success is to it.)
          if (!permit.learn && answer.saysNothing(observed)) return settleNow(permit, "success", clock)
          const wall = clock.unsafeCurrentTimeMillis()
          const skew = wall - timeline.now(wall, clock.unsafeCurrentTimeNanos())
          const learned = permit as state.Permit
          const wakes = machine.observe(learned, answerOf(observed, skew))
          if (learned.hintAt !== undefined) learned.hintAt += skew
          if (wakes) wake(permit.partition)
        })
      )

    const size = Effect.clockWith((clock) => Effect.sync(() => machine.size(nowOf(clock))))

    return { withPermit, permit, observe, size } satisfies Coordinator.Coordinator
  })

/** @internal */
export const tag = Context.GenericTag<Coordinator.Coordinator>("@effect-retry/core/Coordinator")

/** @internal */
export const current = Effect.serviceOption(tag)
