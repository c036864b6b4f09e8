import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import * as Random from "effect/Random"
import type * as Schedule from "effect/Schedule"
import * as ScheduleIntervals from "effect/ScheduleIntervals"
import type * as RetryPolicy from "../RetryPolicy.js"
import * as decision from "./retryPolicy.js"

/*
 * The one retry driver: `RetryPolicy.retry`, `RetryPolicy.schedule` and `withStatusRetry` all decide through `step`;
 * `RetryPolicy.retry` and `withStatusRetry` loop through `run` (a `Schedule` is driven by `Effect.retry` itself).
 */

/** @internal */
export type Retry = Extract<RetryPolicy.Decision, { readonly _tag: "Retry" }>

/** @internal */
export type Stop = Extract<RetryPolicy.Decision, { readonly _tag: "Stop" }>

/**
 * Where a call stands: the policy's state, and the state of a backoff `Schedule` given in the policy.
 * @internal
 */
export interface State {
  readonly retry: RetryPolicy.RetryState
  readonly backoff: unknown
}

/** @internal */
export const initial = (policy: RetryPolicy.RetryPolicy, startedAt: number): State => ({
  retry: decision.initialState(policy, startedAt),
  backoff: policy.backoff?.initial
})

/**
 * Decides what follows a failed attempt: one random draw (of `draw`, the fiber's `Random` by default), one step of
 * the policy's backoff `Schedule` when one is given and the server asked for no pause, and the pure decision.
 * @internal
 */
export const step = (
  policy: RetryPolicy.RetryPolicy,
  state: State,
  classified: decision.Classified,
  error: unknown,
  now: number,
  draw: Effect.Effect<number> = Random.next
): Effect.Effect<readonly [RetryPolicy.Decision, State]> =>
  Effect.flatMap(draw, (random) => {
    const schedule = policy.backoff
    if (schedule === undefined || !decision.needsBackoff(classified)) {
      const [made, next] = decision.decide(policy, state.retry, classified, now, random)
      return Effect.succeed([made, next === state.retry ? state : { retry: next, backoff: state.backoff }] as const)
    }
    return Effect.map(
      (schedule as Schedule.Schedule<unknown, unknown>).step(now, error, state.backoff),
      ([backoff, , scheduled]) => {
        const millis = scheduled._tag === "Done"
          ? NaN
          : Math.max(0, ScheduleIntervals.start(scheduled.intervals) - now)
        const [made, next] = decision.decide(policy, state.retry, classified, now, random, millis)
        return [made, { retry: next, backoff }] as const
      }
    )
  })

/** @internal */
export interface Loop<A, E, R> {
  readonly policy: RetryPolicy.RetryPolicy
  /** When the call's timeout starts, epoch milliseconds. */
  readonly startedAt: number
  /** Runs the next attempt; `state.attempts` were made before it. */
  readonly attempt: (state: RetryPolicy.RetryState) => Effect.Effect<A, E, R>
  /** What a failed attempt means, read once. */
  readonly classify: (error: E, now: number) => decision.Classified
  /**
   * Observes a retry before its wait (logs, metrics), before the policy's `onRetry`, given the calling fiber (to read
   * its FiberRefs); undefined when it has nothing to run.
   */
  readonly observe?:
    | ((retry: Retry, error: E, fiber: Fiber.RuntimeFiber<unknown, unknown>) => Effect.Effect<void> | undefined)
    | undefined
  /** The failure the call ends with. */
  readonly stop: (stop: Stop, error: E) => Effect.Effect<never, E>
}

/**
 * What runs once a wait is over: made apart from the failure's handler, whose scope holds the error, so that a call
 * that waits keeps only its state alive.
 */
const continueWith = <A, E, R>(next: (state: State) => Effect.Effect<A, E, R>, state: State) => () => next(state)

/**
 * Runs attempts until one succeeds or the policy stops. While the call waits, it holds only its state: the failed
 * attempt's error is not reachable from the sleep.
 * @internal
 */
export const run = <A, E, R>(loop: Loop<A, E, R>): Effect.Effect<A, E, R> => {
  const { classify, observe, policy } = loop
  const onRetry = policy.onRetry
  const next = (state: State): Effect.Effect<A, E, R> =>
    Effect.catchAll(loop.attempt(state.retry), (error) =>
      // The clock, the randomness and the FiberRefs the observers read, looked up once per failed attempt.
      Effect.withFiberRuntime((fiber) => {
        const services = fiber.currentDefaultServices
        const clock = Context.get(services, Clock.Clock)
        const now = clock.unsafeCurrentTimeMillis()
        const draw = Context.get(services, Random.Random).next
        return Effect.flatMap(step(policy, state, classify(error, now), error, now, draw), ([made, after]) => {
          if (made._tag === "Stop") return loop.stop(made, error)
          const wait = Effect.flatMap(clock.sleep(made.delay), continueWith(next, after))
          const heard = observe?.(made, error, fiber as Fiber.RuntimeFiber<unknown, unknown>)
          const told = onRetry === undefined
            ? undefined
            : onRetry({ attempt: made.attempts, error, delay: made.delay, source: made.source, kind: made.kind })
          return heard === undefined
            ? told === undefined ? wait : Effect.zipRight(told, wait)
            : Effect.zipRight(heard, told === undefined ? wait : Effect.zipRight(told, wait))
        })
      }))
  return next(initial(policy, loop.startedAt))
}
