import * as CoordinatorAnswer from "@effect-retry/engine/CoordinatorAnswer"
import * as CoordinatorPlan from "@effect-retry/engine/CoordinatorPlan"
import * as CoordinatorState from "@effect-retry/engine/CoordinatorState"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Data from "effect/Data"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as LogLevel from "effect/LogLevel"
import * as Metric from "effect/Metric"
import * as Random from "effect/Random"
import * as Tracer from "effect/Tracer"
import type * as Coordinator from "../Coordinator.js"
import * as options from "./options.js"

/** @internal */
export type Settings = CoordinatorPlan.Settings<(request: Coordinator.RequestInfo) => string | undefined>

/** Reads the options, or throws `InvalidRetryOptions` listing every problem. @internal */
export const resolve = (input: Coordinator.Options = {}): Settings => {
  const resolved = CoordinatorPlan.resolve(input, { millis: options.millis, show: options.show })
  if (resolved._tag === "Problems") throw new options.InvalidRetryOptions({ problems: resolved.problems })
  return resolved.settings
}

const counter = (metric: CoordinatorPlan.MetricInfo) =>
  Metric.counter(metric.name, { description: metric.description, incremental: true })

/** @internal */
export const holds = counter(CoordinatorPlan.HOLDS)

/** The held-calls counter of each reason, with its attribute set once: a hold makes no metric of its own. */
const holdsBy = new Map<string, typeof holds>()
const holdsOf = (reason: string): typeof holds => {
  let metric = holdsBy.get(reason)
  if (metric === undefined) {
    metric = Metric.withAttributes(holds, { reason })
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
  readonly reason: CoordinatorPlan.HoldReason
}> {
  override get message(): string {
    return CoordinatorPlan.heldMessage(this.origin, this.until, this.reason)
  }
}

/**
 * An event on the current span, when there is one. (Read from the context: `Effect.currentSpan` fails without a span,
 * and that failure builds an error for every held call of a burst.)
 */
const spanEvent = (name: string, attributes: Record<string, unknown>): Effect.Effect<void> =>
  Effect.flatMap(Effect.serviceOption(Tracer.ParentSpan), (span) => {
    if (span._tag === "None" || span.value._tag !== "Span") return Effect.void
    const current = span.value
    return Effect.clockWith((clock) =>
      Effect.sync(() => current.event(name, clock.currentTimeNanosUnsafe(), attributes))
    )
  })

type Waited = CoordinatorPlan.Waited

/** @internal */
export interface Service {
  readonly withPermit: <A, E, R>(
    info: Coordinator.RequestInfo,
    use: (permit: CoordinatorState.Permit) => Effect.Effect<A, E, R>
  ) => Effect.Effect<A, E | OriginHeld, R>
  readonly observe: (permit: CoordinatorState.Permit, observed: CoordinatorAnswer.Observed) => Effect.Effect<void>
  readonly size: Effect.Effect<number>
}

/** The sleep of Effect's own clock: under another (a TestClock), held calls wait through it instead of on timers. */
const liveSleep = Clock.Clock.defaultValue().sleep

/** @internal */
export const make = (settings: Settings): Effect.Effect<Service> =>
  Effect.sync(() => {
    const machine = new CoordinatorState.CoordinatorState(settings.config)
    /** The machine's time: the monotonic clock, on the wall clock's scale (a step of the wall clock moves no hold). */
    const timeline = new CoordinatorPlan.Timeline()
    const nowOf = (clock: Clock.Clock) =>
      timeline.now(clock.currentTimeMillisUnsafe(), clock.monotonicTimeNanosUnsafe())
    /**
     * Held calls wait until the instant of their hold, kept by partition and group; news wakes the first of each group,
     * and each one let through wakes the next. On Effect's own clock a held call waits on a timer and a callback: no
     * fiber per wait. Under another clock (a TestClock), on its sleep raced with a signal of its own.
     */
    const waiters = new CoordinatorPlan.Waiters<() => void>()
    const wait = (partition: string, group: string, millis: number): Effect.Effect<void> =>
      Effect.clockWith((clock) => {
        if (clock.sleep === liveSleep) {
          return Effect.callback<void>((resume) =>
            Effect.sync(waiters.park(partition, group, millis, () => resume(Effect.void)))
          )
        }
        const signal = Deferred.makeUnsafe<void>()
        const done = () => Deferred.doneUnsafe(signal, Effect.void)
        waiters.add(partition, group, done)
        return Effect.ensuring(
          Effect.raceFirst(clock.sleep(Duration.millis(millis)), Deferred.await(signal)),
          Effect.sync(() => waiters.remove(partition, group, done))
        )
      })
    /** Wakes the first call of a group, if one waits; it leaves the queue at once, so the next wake finds the next. */
    const wakeFirst = (partition: string, group: string) => waiters.takeFirst(partition, group)?.()
    const wake = (partition: string) => {
      for (const group of waiters.groups(partition)) wakeFirst(partition, group)
    }

    /**
     * Waits for the permit. It runs uninterruptibly but for the wait itself (`restore`): a permit taken is handed to
     * the caller, whose finalizer settles it, with no step in between where an interruption could lose it.
     */
    const acquire = (
      request: CoordinatorState.Request,
      deadline: number,
      restore: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>,
      first?: CoordinatorState.Hold
    ): Effect.Effect<CoordinatorState.Permit, OriginHeld> => {
      const origin = request.origin
      // Only a retry draws a number (the retry budget's).
      const loop = (last: Waited | undefined): Effect.Effect<CoordinatorState.Permit, OriginHeld> =>
        request.attempt === "retry" ? Effect.flatMap(Random.next, (random) => step(last, random)) : step(last, 0)
      const step = (last: Waited | undefined, random: number): Effect.Effect<CoordinatorState.Permit, OriginHeld> =>
        Effect.clockWith((clock) => {
          const wall = clock.currentTimeMillisUnsafe()
          const now = timeline.now(wall, clock.monotonicTimeNanosUnsafe())
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
                Effect.andThen(
                  Metric.update(releases, 1),
                  spanEvent(CoordinatorPlan.EVENTS.release, { "server.address": origin })
                ),
                next.permit
              )
            case "Refused":
              return Effect.logDebug(CoordinatorPlan.refusedMessage(origin)).pipe(
                Effect.annotateLogs({ origin }),
                Effect.andThen(Metric.update(refusals, 1)),
                Effect.andThen(spanEvent(CoordinatorPlan.EVENTS.refused, { "server.address": origin })),
                Effect.andThen(Effect.fail(new OriginHeld({ origin, until: wall, reason: "retry-budget" })))
              )
            case "Stop":
              return Effect.fail(new OriginHeld({ origin, until: next.until + skew, reason: next.reason }))
          }
          const { hold, group } = next.waited
          // Every hold is logged once: the first, and each later one with another reason or instant (a held call
          // woken by news may be held again, for a new reason). The metric and the span event count held calls.
          // (Its annotations are written only when debug logs are on: a burst's held calls cost no dates otherwise.)
          const log = next.changed
            ? Effect.flatMap(LogLevel.isEnabled("Debug"), (enabled) =>
              enabled
                ? Effect.annotateLogs(
                  Effect.logDebug(CoordinatorPlan.holdMessage(origin, hold.reason)),
                  CoordinatorPlan.holdAnnotations(origin, hold, skew)
                )
                : Effect.void)
            : Effect.void
          const announce = last !== undefined ? log : log.pipe(
            Effect.andThen(Metric.update(holdsOf(hold.reason), 1)),
            Effect.andThen(spanEvent(CoordinatorPlan.EVENTS.hold, { "server.address": origin, reason: hold.reason }))
          )
          const waitFor = Effect.flatMap(
            next.draws ? Random.next : Effect.succeed(0),
            (draw) => wait(request.partition, group, next.millis(draw))
          )
          return Effect.andThen(announce, Effect.andThen(restore(waitFor), Effect.suspend(() => loop(next.waited))))
        })
      return loop(undefined)
    }

    /** Hands a permit back, now. */
    const settleNow = (permit: CoordinatorState.Permit, outcome: CoordinatorState.Outcome, clock: Clock.Clock) => {
      if (!permit.settled && machine.settle(permit, outcome, nowOf(clock))) wake(permit.partition)
    }

    return {
      /**
       * Runs `use` under a permit, and hands it back however `use` ends. A first attempt let through at once (the
       * common case) takes its permit in the step that reads the clock, and is handed back in the handlers of its
       * outcome: every step here runs before and after each request.
       */
      withPermit: <A, E, R>(
        info: Coordinator.RequestInfo,
        use: (permit: CoordinatorState.Permit) => Effect.Effect<A, E, R>
      ): Effect.Effect<A, E | OriginHeld, R> =>
        Effect.uninterruptibleMask((restore) =>
          Effect.clockWith((clock) => {
            const run = (permit: CoordinatorState.Permit) =>
              Effect.matchCauseEffect(restore(use(permit)), {
                onFailure: (cause) => {
                  settleNow(permit, Cause.hasInterrupts(cause) ? "interrupted" : "failure", clock)
                  return Effect.failCause(cause)
                },
                onSuccess: (value) => {
                  settleNow(permit, "success", clock)
                  return Effect.succeed(value)
                }
              })
            const request = CoordinatorPlan.requestOf(info.url, info.attempt, settings.key?.(info))
            const deadline = info.deadline ?? Infinity
            const admission = CoordinatorPlan.admitAtOnce(machine, request, nowOf(clock))
            return admission instanceof CoordinatorState.Permit
              ? run(admission)
              : Effect.flatMap(acquire(request, deadline, restore, admission), run)
          })
        ),
      observe: (permit, observed) =>
        Effect.clockWith((clock) =>
          Effect.sync(() => {
            // (An answer of a permit that wants none, which says nothing of limits, is what a success is to it.)
            if (!permit.learn && CoordinatorAnswer.saysNothing(observed)) return settleNow(permit, "success", clock)
            const wall = clock.currentTimeMillisUnsafe()
            const skew = wall - timeline.now(wall, clock.monotonicTimeNanosUnsafe())
            const wakes = machine.observe(permit, CoordinatorAnswer.answerOf(observed, skew))
            if (permit.hintAt !== undefined) permit.hintAt += skew
            if (wakes) wake(permit.partition)
          })
        ),
      size: Effect.clockWith((clock) => Effect.sync(() => machine.size(nowOf(clock))))
    }
  })
