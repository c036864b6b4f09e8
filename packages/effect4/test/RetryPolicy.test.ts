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
