import * as RetryDecision from "@effect-retry/engine/RetryDecision"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Pull from "effect/Pull"
import * as Random from "effect/Random"
import * as Schedule from "effect/Schedule"
import type * as options from "./options.js"

/**
 * The decisions of one call: one random draw each, and one step of the call's backoff `Schedule` when one is given
 * and the server asked for no pause (its delay is the wait; when it is done, the call stops with "attempts").
 * @internal
 */
export const decider = <S extends string>(policy: RetryDecision.Policy, backoff: options.Backoff | undefined) => {
  let step: ((now: number, input: never) => Pull.Pull<[unknown, Duration.Duration], never, unknown>) | undefined
  const delayOf = (now: number, failure: unknown): Effect.Effect<number> =>
    Effect.flatMap(
      step === undefined ? Effect.map(Schedule.toStep(backoff!), (made) => step = made) : Effect.succeed(step),
      (next) =>
        next(now, failure as never).pipe(
          Effect.map(([, delay]) => Duration.toMillis(delay)),
          Pull.catchDone(() => Effect.succeed(NaN))
        )
    )
  return (
    state: RetryDecision.State,
    classified: RetryDecision.Classified<S>,
    failure: unknown,
    now: number
  ): Effect.Effect<readonly [RetryDecision.Decision<S>, RetryDecision.State]> =>
    Effect.flatMap(Random.next, (random) =>
      backoff === undefined || !RetryDecision.needsBackoff(classified)
        ? Effect.succeed(RetryDecision.decide(policy, state, classified, now, random))
        : Effect.map(
          delayOf(now, failure),
          (millis) => RetryDecision.decide(policy, state, classified, now, random, millis)
        ))
}
