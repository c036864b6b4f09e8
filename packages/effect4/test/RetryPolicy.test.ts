import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as TestClock from "effect/testing/TestClock"
import { describe, expect, it } from "vitest"
import { Backoff, RetryAfter, RetryPolicy, StatusError } from "../src/index.js"

/** Runs `effect` on the TestClock from 0, moving it an hour on; the outcome and when each attempt started. */
const onTestClock = <A, E>(effect: (attempt: () => Effect.Effect<number>) => Effect.Effect<A, E>) => {
  const startedAt: Array<number> = []
  const attempt = () => Effect.tap(Clock.currentTimeMillis, (now) => Effect.sync(() => startedAt.push(now)))
  const program = Effect.gen(function*() {
    const fiber = yield* Effect.forkChild(Effect.exit(effect(attempt)))
    yield* TestClock.adjust("1 hour")
    return yield* Fiber.join(fiber)
  })
  return Effect.runPromise(Effect.provide(program, TestClock.layer())).then((exit) => ({ exit, startedAt }))
}

const status = (code: number, headers: Record<string, string> = {}, receivedAt = 0) =>
  Option.getOrThrow(
    StatusError.fromResponse({ status: code, method: "GET", url: "https://api.test/", headers, receivedAt })
  )

describe("RetryPolicy.schedule", () => {
  it("waits a status error's Retry-After, then backs off without jitter, and stops on the attempts", async () => {
    const { exit, startedAt } = await onTestClock((attempt) =>
      Effect.flatMap(
        attempt(),
        (now) => Effect.fail(now === 0 ? status(429, { "retry-after": "3" }, now) : status(503))
      ).pipe(
        Effect.retry(RetryPolicy.schedule({ maxAttempts: 4, retryAfterSpread: 0, backoff: { jitter: "none" } }))
      )
    )
    // 3 s asked by the server, then the transient backoff: 100 ms, 200 ms.
    expect(startedAt).toEqual([0, 3_000, 3_100, 3_300])
    expect(Exit.isFailure(exit)).toBe(true)
  })

  it("does not retry a permanent status or a failure it was not told about", async () => {
    const permanent = await onTestClock((attempt) =>
      Effect.flatMap(attempt(), () => Effect.fail(status(404))).pipe(Effect.retry(RetryPolicy.schedule()))
    )
    const unknown = await onTestClock((attempt) =>
      Effect.flatMap(attempt(), () => Effect.fail(new Error("boom"))).pipe(Effect.retry(RetryPolicy.schedule()))
    )
    expect([permanent.startedAt, unknown.startedAt]).toEqual([[0], [0]])
  })

  it("retries a failure its classify calls transient", async () => {
    const { startedAt } = await onTestClock((attempt) =>
      Effect.flatMap(attempt(), () => Effect.fail(new Error("reset"))).pipe(
        Effect.retry(RetryPolicy.schedule({ maxAttempts: 3, classify: () => "transient", backoff: { jitter: "none" } }))
      )
    )
    expect(startedAt).toEqual([0, 100, 300])
  })
})

describe("RetryPolicy.retry", () => {
  /** An effect that fails with the next of `errors` (the last repeats), or succeeds once they are used up. */
  const scripted = (attempt: () => Effect.Effect<number>, errors: ReadonlyArray<unknown>, succeeds = false) => {
    let made = 0
    return Effect.flatMap(attempt(), (now) => {
      const n = made++
      if (succeeds && n >= errors.length) return Effect.succeed(now)
      const error = errors[Math.min(n, errors.length - 1)]
      return Effect.fail(typeof error === "function" ? (error as (now: number) => unknown)(now) : error)
    })
  }

  it("stops a backoff that would end past the timeout, counted from the first attempt, with attempts and stop reason", async () => {
    const { exit, startedAt } = await onTestClock((attempt) =>
      scripted(attempt, [status(502)]).pipe(
        RetryPolicy.retry({ timeout: "1 second", backoff: { jitter: "none" }, maxTransientAttempts: 10 })
      )
    )
    // 100, 200, 400 ms fit in a second; 800 ms more would end past it.
    expect(startedAt).toEqual([0, 100, 300, 700])
    const error = Exit.isFailure(exit) ? Option.getOrThrow(Exit.findErrorOption(exit)) : undefined
    expect(error).toMatchObject({ _tag: "BadGateway", attempts: 4, stopReason: Option.some("timeout") })
  })

  it("runs onRetry once per retry, before its wait, with the attempt, the error, the exact delay and its source", async () => {
    const told: Array<readonly [number, number, string, string, string, number]> = []
    const onRetry = (info: RetryPolicy.RetryInfo) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        const tag = (info.error as StatusError.StatusError)._tag
        told.push([info.attempt, Duration.toMillis(info.delay), info.source, info.kind, tag, now])
      })
    const { exit, startedAt } = await onTestClock((attempt) =>
      RetryPolicy.retry(
        scripted(attempt, [status(503), (now: number) => status(429, { "retry-after": "2" }, now), status(502)], true),
        { backoff: { jitter: "none" }, retryAfterSpread: 0, onRetry }
      )
    )
    expect(Exit.isSuccess(exit)).toBe(true)
    expect(told).toEqual([
      [1, 100, "backoff", "transient", "ServiceUnavailable", 0],
      [2, 2_000, "retry-after", "throttled", "TooManyRequests", 100],
      [3, 200, "backoff", "transient", "BadGateway", 2_100]
    ])
    expect(startedAt).toEqual([0, 100, 2_100, 2_300])
  })

  it("gives up at once on a permanent status (onRetry not run), and hands back another failure as it was", async () => {
    let runs = 0
    const onRetry = () => Effect.sync(() => runs++)
    const permanent = await onTestClock((attempt) =>
      scripted(attempt, [status(404)]).pipe(RetryPolicy.retry({ onRetry }))
    )
    const boom = new Error("reset")
    const other = await onTestClock((attempt) =>
      scripted(attempt, [boom]).pipe(
        RetryPolicy.retry({ maxAttempts: 3, classify: () => "transient", backoff: { jitter: "none" } })
      )
    )
    expect(Option.getOrThrow(Exit.findErrorOption(permanent.exit))).toMatchObject({
      _tag: "NotFound",
      attempts: 1,
      stopReason: Option.some("permanent")
    })
    expect([permanent.startedAt, runs]).toEqual([[0], 0])
    expect([Option.getOrThrow(Exit.findErrorOption(other.exit)), other.startedAt]).toEqual([boom, [0, 100, 300]])
    expect(() => RetryPolicy.retry({ onRetry: 1 as never })).toThrow("onRetry must be a function returning an Effect")
  })
})

describe("RetryPolicy.schedule with a backoff Schedule", () => {
  it("waits the Schedule's delays between failures with no hint, and the server's hint over them", async () => {
    const { startedAt } = await onTestClock((attempt) =>
      Effect.flatMap(
        attempt(),
        (now) => Effect.fail(now === 500 ? status(503, { "retry-after": "2" }, now) : status(503))
      )
        .pipe(
          Effect.retry(RetryPolicy.schedule({
            maxAttempts: 5,
            maxTransientAttempts: 5,
            retryAfterSpread: 0,
            backoff: Schedule.spaced("250 millis")
          }))
        )
    )
    expect(startedAt).toEqual([0, 250, 500, 2_500, 2_750])
  })
})

describe("Backoff.exponential", () => {
  it("doubles from the base delay up to the cap", async () => {
    const delays = await Effect.runPromise(Effect.gen(function*() {
      const step = yield* Schedule.toStep(
        Backoff.exponential({ baseDelay: "1 second", maxDelay: "5 seconds", jitter: "none" })
      )
      const out: Array<number> = []
      for (let i = 0; i < 5; i++) out.push(Duration.toMillis((yield* step(0, undefined))[1]))
      return out
    }))
    expect(delays).toEqual([1_000, 2_000, 4_000, 5_000, 5_000])
  })
})

describe("RetryAfter.parse", () => {
  it("reads delay-seconds and an HTTP-date against the response's Date; None when malformed", () => {
    const date = "Thu, 01 Jan 2026 12:00:00 GMT"
    expect(Option.map(RetryAfter.parse("120"), Duration.toMillis)).toEqual(Option.some(120_000))
    expect(Option.map(RetryAfter.parse("Thursday, 01-Jan-26 12:00:10 GMT", { date }), Duration.toMillis)).toEqual(
      Option.some(10_000)
    )
    expect(RetryAfter.parse("-1")).toEqual(Option.none())
  })
})
