import * as RetryDecision from "@effect-retry/engine/RetryDecision"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as RetryPolicy from "../RetryPolicy.js"
import * as decision from "./decide.js"
import type * as options from "./options.js"

/*
 * The one retry driver of the Effect 4 line: `RetryPolicy.retry` and `withStatusRetry` both loop through `run`
 * (`RetryPolicy.schedule` is driven by `Effect.retry` itself, through the same decision).
 */

/** @internal */
export type Retry<S extends string> = Extract<RetryDecision.Decision<S>, { readonly _tag: "Retry" }>

/** @internal */
export type Stop<S extends string> = Extract<RetryDecision.Decision<S>, { readonly _tag: "Stop" }>

/**
 * One call's retry loop: `E` is what an attempt fails with, `E2` what the call ends with.
 * @internal
 */
export interface Loop<A, E, R, S extends string, E2 = E> {
  readonly policy: RetryDecision.Policy
  /** The backoff `Schedule` the options gave, if any. */
  readonly backoff: options.Backoff | undefined
  /** When the call's timeout starts, epoch milliseconds. */
  readonly startedAt: number
  /** Runs the next attempt; `attempts` were made before it. */
  readonly attempt: (attempts: number) => Effect.Effect<A, E, R>
  /** What a failed attempt means, read once. */
  readonly classify: (error: E) => RetryDecision.Classified<S>
  /** Observes a retry before its wait (logs, metrics), before `onRetry`. */
  readonly observe?: ((retry: Retry<S>, error: E) => Effect.Effect<void>) | undefined
  /** The user's hook, run after `observe` and before the wait. */
  readonly onRetry?: ((info: RetryPolicy.RetryInfo) => Effect.Effect<unknown>) | undefined
  /** The failure the call ends with. */
  readonly stop: (stop: Stop<S>, error: E) => Effect.Effect<never, E2>
}

/**
 * Runs attempts until one succeeds or the policy stops: each failure is classified once, decided on, observed, told
 * to `onRetry`, then waited for.
 * @internal
 */
export const run = <A, E, R, S extends string, E2 = E>(loop: Loop<A, E, R, S, E2>): Effect.Effect<A, E2, R> => {
  const { classify, observe, onRetry } = loop
  const decide = decision.decider<S>(loop.policy, loop.backoff)
  const next = (state: RetryDecision.State): Effect.Effect<A, E2, R> =>
    Effect.catch(
      loop.attempt(state.attempts),
      (error) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) =>
          Effect.flatMap(decide(state, classify(error), error, now), ([made, after]) => {
            if (made._tag === "Stop") {
              return loop.stop(made, error)
            }
            const delay = Duration.millis(made.delay)
            const wait = Effect.flatMap(Effect.sleep(delay), () =>
              next(after))
            const told = onRetry === undefined
              ? wait
              : Effect.andThen(
                onRetry({ attempt: made.attempts, error, delay, source: made.source, kind: made.kind }),
                wait
              )
            return observe === undefined ? told : Effect.andThen(observe(made, error), told)
          }))
    )
  return next(RetryDecision.initialState(loop.policy, loop.startedAt))
}
