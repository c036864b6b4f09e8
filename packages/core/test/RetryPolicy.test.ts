import { Backoff, HttpDate, RetryPolicy, StatusError } from "@effect-retry/core"
import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as fc from "effect/FastCheck"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import * as TestClock from "effect/TestClock"

const SEED = "effect-retry/policy"
/** The first draws of `Random.make(SEED)`: one per failure, in `retry` and in `schedule` alike. */
const DRAWS = [0.2160174257402957, 0.5739281546270821, 0.9131855560069828, 0.4858637561757103]
const ITEMS = "https://api.test/items"

/** What a sleep of `ms` moves the TestClock by: a Duration keeps whole nanoseconds. */
const slept = (ms: number) => Duration.toMillis(Duration.millis(ms))

interface Reply {
  readonly status: number
  readonly headers?: Readonly<Record<string, string>>
  /** How long the attempt takes before its response arrives, in ms. */
  readonly latency?: number
}

const errorAt = (reply: Reply, receivedAt: number): StatusError.StatusError =>
  Option.getOrThrow(
    StatusError.fromResponse({
      status: reply.status,
      method: "GET",
      url: ITEMS,
      headers: reply.headers ?? {},
      receivedAt
    })
  )

/**
 * A call that fails with the given replies in turn (the response received `latency` after the attempt starts), then
 * succeeds with "ok"; `times` records the clock when each attempt starts.
 */
const scripted = (replies: ReadonlyArray<Reply>) =>
  Effect.gen(function*() {
    const times = yield* Ref.make<ReadonlyArray<number>>([])
    const call: Effect.Effect<string, StatusError.StatusError> = Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      const n = yield* Ref.modify(times, (ts) => [ts.length, [...ts, now]] as const)
      const reply = replies[n]
      if (reply === undefined) return "ok"
      if (reply.latency !== undefined) yield* Effect.sleep(reply.latency)
      return yield* Effect.fail(errorAt(reply, yield* Clock.currentTimeMillis))
    })
    return { call, times }
  })

/** Runs an effect in a fiber under the seeded Random; the fiber and a way to see its exit so far. */
const start = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.map(Effect.fork(Effect.withRandom(effect, Random.make(SEED))), (fiber) => ({
    fiber,
    poll: Fiber.poll(fiber)
  }))

const failureOf = <A, E>(exit: Option.Option<Exit.Exit<A, E>>): E => {
  if (Option.isNone(exit)) throw new Error("the fiber has not finished")
  if (Exit.isSuccess(exit.value)) throw new Error(`the fiber succeeded with ${String(exit.value.value)}`)
  return Option.getOrThrow(Cause.failureOption(exit.value.cause))
}

/** The two ways to run a call under a policy: the combinator, and the schedule with `Effect.retry`. */
const runners = [
  [
    "RetryPolicy.retry",
    <A, E>(self: Effect.Effect<A, E>, options?: RetryPolicy.RetryOptions) => RetryPolicy.retry(self, options)
  ],
  [
    "Effect.retry + RetryPolicy.schedule",
    <A, E>(self: Effect.Effect<A, E>, options?: RetryPolicy.RetryOptions) =>
      Effect.retry(self, RetryPolicy.schedule(options))
  ]
] as const

describe("the seeded draws", () => {
  it.effect("are the ones hard-coded here", () =>
    Effect.gen(function*() {
      const draws = yield* Effect.all(DRAWS.map(() => Random.next)).pipe(Effect.withRandom(Random.make(SEED)))
      expect(draws).toStrictEqual(DRAWS)
    }))
})

describe("a 429 with Retry-After: 7", () => {
  // spread = random * min(maxRetryAfterSpread = 1 s, retryAfterSpread = 0.02 * 7 s) = random * 140 ms
  const secondAttempt = slept(7000 + DRAWS[0]! * 140)

  it("is retried at 7 s plus the seeded spread, within [7000, 7140] ms", () => {
    expect(secondAttempt).toBe(7030.24244)
    expect(secondAttempt).toBeGreaterThanOrEqual(7000)
    expect(secondAttempt).toBeLessThanOrEqual(7140)
  })

  for (const [name, run] of runners) {
    it.effect(`waits exactly 7 s plus the spread (${name})`, () =>
      Effect.gen(function*() {
        const { call, times } = yield* scripted([{ status: 429, headers: { "retry-after": "7" } }])
        const { fiber, poll } = yield* start(run(call))
        yield* TestClock.adjust(6999)
        expect(yield* Ref.get(times)).toStrictEqual([0])
        yield* TestClock.setTime(7000)
        expect(yield* Ref.get(times)).toStrictEqual([0])
        yield* TestClock.setTime(secondAttempt - 0.001)
        expect(yield* Ref.get(times)).toStrictEqual([0])
        yield* TestClock.setTime(secondAttempt)
        expect(yield* Ref.get(times)).toStrictEqual([0, secondAttempt])
        const exit = yield* poll
        expect(Option.isSome(exit) && Exit.isSuccess(exit.value)).toBe(true)
        expect(yield* Fiber.join(fiber)).toBe("ok")
      }))
  }

  it.effect.prop(
    "under any seed, the second attempt is at 7000 + draw * 140 ms",
    [fc.string()],
    ([seed]) =>
      Effect.gen(function*() {
        const draw = yield* Effect.withRandom(Random.next, Random.make(seed))
        const { call, times } = yield* scripted([{ status: 429, headers: { "retry-after": "7" } }])
        const fiber = yield* Effect.fork(Effect.withRandom(RetryPolicy.retry(call), Random.make(seed)))
        yield* TestClock.adjust("1 minute")
        expect(yield* Fiber.join(fiber)).toBe("ok")
        const [first, second] = yield* Ref.get(times)
        expect(first).toBe(0)
        expect(second).toBe(slept(7000 + draw * 140))
        expect(second).toBeGreaterThanOrEqual(7000)
        expect(second).toBeLessThanOrEqual(7140)
      }),
    { fastCheck: { numRuns: 15 } }
  )
})

describe("a 404", () => {
  it.effect("fails once with NotFound, stopReason permanent (RetryPolicy.retry)", () =>
    Effect.gen(function*() {
      const { call, times } = yield* scripted([{ status: 404 }])
      const { poll } = yield* start(RetryPolicy.retry(call))
      yield* TestClock.adjust(0)
      const error = failureOf(yield* poll)
      expect(error).toBeInstanceOf(StatusError.NotFound)
      expect([error._tag, error.attempts, error.stopReason]).toStrictEqual(["NotFound", 1, Option.some("permanent")])
      expect(yield* Ref.get(times)).toStrictEqual([0])
      expect(Chunk.toReadonlyArray(yield* TestClock.sleeps())).toStrictEqual([])
    }))

  it.effect("is catchable by its tag after retry", () =>
    Effect.gen(function*() {
      const { call, times } = yield* scripted([{ status: 404 }])
      const result = yield* call.pipe(
        RetryPolicy.retry(),
        Effect.catchTag("NotFound", (e) =>
          Effect.succeed(`${e.status} after ${e.attempts}: ${Option.getOrThrow(e.stopReason)}`))
      )
      expect(result).toBe("404 after 1: permanent")
      expect(yield* Ref.get(times)).toStrictEqual([0])
    }))

  it.effect("fails once, unchanged, with Effect.retry + schedule", () =>
    Effect.gen(function*() {
      const { call, times } = yield* scripted([{ status: 404 }])
      const result = yield* Effect.retry(call, RetryPolicy.schedule()).pipe(
        Effect.catchTag("NotFound", (e) => Effect.succeed([e.attempts, e.stopReason] as const))
      )
      expect(result).toStrictEqual([1, Option.none()])
      expect(yield* Ref.get(times)).toStrictEqual([0])
    }))
})

describe("a Retry-After HTTP-date is measured against the response's Date header", () => {
  const server = Date.UTC(2026, 0, 1, 12, 0, 0)
  const headers = { date: HttpDate.formatImfFixdate(server), "retry-after": HttpDate.formatImfFixdate(server + 2000) }
  // spread = random * min(1 s, 0.02 * 2 s) = random * 40 ms
  const wait = slept(2000 + DRAWS[0]! * 40)

  for (const skew of [60_000, -60_000]) {
    for (const [name, run] of runners) {
      it.effect(`waits 2 s when the local clock is ${skew / 1000} s off (${name})`, () =>
        Effect.gen(function*() {
          const local = server + skew
          yield* TestClock.setTime(local)
          const { call, times } = yield* scripted([{ status: 503, headers }])
          const { fiber } = yield* start(run(call))
          yield* TestClock.setTime(local + 1999)
          expect(yield* Ref.get(times)).toStrictEqual([local])
          yield* TestClock.setTime(local + wait)
          expect(yield* Fiber.join(fiber)).toBe("ok")
          expect(yield* Ref.get(times)).toStrictEqual([local, local + wait])
          expect(wait).toBeGreaterThanOrEqual(2000)
          expect(wait).toBeLessThanOrEqual(2040)
        }))
    }
  }
})

describe("a hint beyond maxRetryAfter", () => {
  it.effect("fails at once with retry-after-too-long, keeping the instant (RetryPolicy.retry)", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(5_000)
      const { call, times } = yield* scripted([{ status: 429, headers: { "retry-after": "31" } }])
      const { poll } = yield* start(RetryPolicy.retry(call))
      yield* TestClock.adjust(0)
      const error = failureOf(yield* poll)
      expect(error).toBeInstanceOf(StatusError.TooManyRequests)
      expect([error.attempts, error.stopReason]).toStrictEqual([1, Option.some("retry-after-too-long")])
      expect(Option.map(error.retryAfter, (h) => [h.source, Duration.toMillis(h.delay), h.at])).toStrictEqual(
        Option.some(["retry-after", 31_000, 36_000])
      )
      expect(yield* Ref.get(times)).toStrictEqual([5_000])
      expect(yield* Clock.currentTimeMillis).toBe(5_000)
      expect(Chunk.toReadonlyArray(yield* TestClock.sleeps())).toStrictEqual([])
    }))

  it.effect("fails at once, the error unchanged, with Effect.retry + schedule", () =>
    Effect.gen(function*() {
      const { call, times } = yield* scripted([{ status: 503, headers: { "retry-after": "120" } }])
      const { poll } = yield* start(Effect.retry(call, RetryPolicy.schedule({ maxRetryAfter: "1 minute" })))
      yield* TestClock.adjust(0)
      const error = failureOf(yield* poll)
      expect([error._tag, error.kind, error.attempts]).toStrictEqual(["ServiceUnavailable", "throttled", 1])
      expect(Option.map(error.retryAfter, (h) => h.at)).toStrictEqual(Option.some(120_000))
      expect(yield* Ref.get(times)).toStrictEqual([0])
    }))

  it.effect("a hint exactly at maxRetryAfter is honoured", () =>
    Effect.gen(function*() {
      const { call, times } = yield* scripted([{ status: 429, headers: { "retry-after": "30" } }])
      const result = yield* start(RetryPolicy.retry(call, { timeout: "1 minute" }))
      yield* TestClock.adjust("1 minute")
      expect(yield* Fiber.join(result.fiber)).toBe("ok")
      // spread = random * min(1 s, 0.02 * 30 s) = random * 600 ms
      expect(yield* Ref.get(times)).toStrictEqual([0, slept(30_000 + DRAWS[0]! * 600)])
    }))

  it.effect("a huge delay-seconds value is too long, not a short wait", () =>
    Effect.gen(function*() {
      const { call } = yield* scripted([{ status: 429, headers: { "retry-after": "99999999999999999999" } }])
      const { poll } = yield* start(RetryPolicy.retry(call))
      yield* TestClock.adjust(0)
      expect(failureOf(yield* poll).stopReason).toStrictEqual(Option.some("retry-after-too-long"))
    }))
})

describe("the timeout", () => {
  it.effect("is never crossed: 4 s hints with a 10 s timeout give attempts at 0, ~4, ~8 s, then stop", () =>
    Effect.gen(function*() {
      const replies = Array.from({ length: 10 }, () => ({ status: 503, headers: { "retry-after": "4" } }))
      const { call, times } = yield* scripted(replies)
      const failedAt = yield* Ref.make(-1)
      const { poll } = yield* start(
        RetryPolicy.retry(call, { timeout: "10 seconds" }).pipe(
          Effect.tapError(() => Effect.flatMap(Clock.currentTimeMillis, (now) => Ref.set(failedAt, now)))
        )
      )
      yield* TestClock.setTime(10_000)
      const error = failureOf(yield* poll)
      expect(error).toBeInstanceOf(StatusError.ServiceUnavailable)
      expect([error.attempts, error.stopReason]).toStrictEqual([3, Option.some("timeout")])
      // spread = random * min(1 s, 0.02 * 4 s) = random * 80 ms
      const second = slept(4000 + DRAWS[0]! * 80)
      const third = second + slept(4000 + DRAWS[1]! * 80)
      expect(yield* Ref.get(times)).toStrictEqual([0, second, third])
      expect(yield* Ref.get(failedAt)).toBe(third)
      expect(third).toBeLessThanOrEqual(10_000)
      expect(Chunk.toReadonlyArray(yield* TestClock.sleeps())).toStrictEqual([])
    }))

  it.effect("stops a backoff that would end past it: 100, 200, 400 ms fit in 1 s, 800 ms does not", () =>
    Effect.gen(function*() {
      const { call, times } = yield* scripted(Array.from({ length: 10 }, () => ({ status: 502 })))
      const { poll } = yield* start(
        RetryPolicy.retry(call, { timeout: "1 second", backoff: { jitter: "none" }, maxTransientAttempts: 10 })
      )
      yield* TestClock.adjust("1 second")
      const error = failureOf(yield* poll)
      expect([error._tag, error.attempts, error.stopReason]).toStrictEqual(["BadGateway", 4, Option.some("timeout")])
      expect(yield* Ref.get(times)).toStrictEqual([0, 100, 300, 700])
    }))

  it.effect("starts with the first attempt for RetryPolicy.retry, with the first failure for the schedule", () =>
    Effect.gen(function*() {
      // The first attempt takes 500 ms; the next ones fail at once.
      const replies = [{ status: 502, latency: 500 }, ...Array.from({ length: 10 }, () => ({ status: 502 }))]
      const options = { timeout: 1000, backoff: { jitter: "none" }, maxTransientAttempts: 10 } as const
      const combinator = yield* scripted(replies)
      const scheduled = yield* scripted(replies)
      const a = yield* start(RetryPolicy.retry(combinator.call, options))
      const b = yield* start(Effect.retry(scheduled.call, RetryPolicy.schedule(options)))
      yield* TestClock.adjust("1 minute")
      // From 0: 100 and 200 ms fit before 1000; 400 ms from 800 does not.
      expect(failureOf(yield* a.poll).stopReason).toStrictEqual(Option.some("timeout"))
      expect(yield* Ref.get(combinator.times)).toStrictEqual([0, 600, 800])
      // From the first failure at 500: 100, 200 and 400 ms fit before 1500; 800 ms from 1200 does not.
      expect(failureOf(yield* b.poll)._tag).toBe("BadGateway")
      expect(yield* Ref.get(scheduled.times)).toStrictEqual([0, 600, 800, 1200])
    }))

  const status = fc.constantFrom(408, 429, 500, 502, 503, 504)
  const hint = fc.oneof(
    fc.constant({}),
    fc.integer({ min: 0, max: 20 }).map((s) => ({ "retry-after": String(s) })),
    fc.integer({ min: 0, max: 20_000 }).map((ms) => ({ "retry-after-ms": String(ms) })),
    fc.integer({ min: 0, max: 20 }).map((s) => ({ "x-ratelimit-remaining": "0", "x-ratelimit-reset": String(s) }))
  )
  const reply = fc.record({ status, headers: hint })
  const policyOptions = fc.record({
    timeout: fc.integer({ min: 0, max: 60_000 }),
    maxAttempts: fc.integer({ min: 1, max: 20 }),
    maxTransientAttempts: fc.integer({ min: 1, max: 20 }),
    maxRetryAfter: fc.integer({ min: 0, max: 30_000 }),
    retryAfterSpread: fc.double({ min: 0, max: 1, noNaN: true }),
    jitter: fc.constantFrom(...Backoff.jitters)
  })

  it.prop(
    "decide never lets a sleep end past the timeout, whatever the failures, hints, latencies and draws",
    [
      policyOptions,
      fc.array(
        fc.record({
          reply,
          latency: fc.integer({ min: 0, max: 5_000 }),
          random: fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true })
        }),
        { minLength: 1, maxLength: 30 }
      ),
      fc.integer({ min: 0, max: 2_000_000_000 })
    ],
    ([options, failures, startedAt]) => {
      const policy = RetryPolicy.make(options)
      let state = RetryPolicy.initialState(policy, startedAt)
      let now = startedAt
      let sleptTotal = 0
      for (const { latency, random, reply } of failures) {
        now += latency
        const [decision, next] = RetryPolicy.decide(policy, state, errorAt(reply, now), now, random)
        expect(decision.attempts).toBe(state.attempts + 1)
        state = next
        if (decision._tag === "Stop") break
        const delay = Duration.toMillis(decision.delay)
        expect(delay).toBeGreaterThanOrEqual(0)
        now += delay
        sleptTotal += delay
        expect(now - startedAt).toBeLessThanOrEqual(policy.timeout)
      }
      expect(sleptTotal).toBeLessThanOrEqual(policy.timeout)
    },
    { fastCheck: { numRuns: 500 } }
  )

  it.effect.prop(
    "RetryPolicy.retry under TestClock never sleeps past the timeout",
    [policyOptions, fc.array(reply, { minLength: 1, maxLength: 25 }), fc.string()],
    ([options, replies, seed]) =>
      Effect.gen(function*() {
        const { call, times } = yield* scripted(replies)
        const fiber = yield* Effect.fork(
          Effect.withRandom(Effect.exit(RetryPolicy.retry(call, options)), Random.make(seed))
        )
        yield* TestClock.adjust(options.timeout + 60_000)
        const exit = yield* Fiber.join(fiber)
        const attempts = yield* Ref.get(times)
        for (const t of attempts) expect(t).toBeLessThanOrEqual(options.timeout)
        if (Exit.isFailure(exit)) {
          const error = Option.getOrThrow(Cause.failureOption(exit.cause))
          expect(error.attempts).toBe(attempts.length)
          expect(Option.isSome(error.stopReason)).toBe(true)
        } else {
          expect(attempts.length).toBe(replies.length + 1)
        }
      }),
    { fastCheck: { numRuns: 40 } }
  )
})

describe("max attempts", () => {
  for (const [name, run] of runners) {
    it.effect(`transient failures stop after maxTransientAttempts (${name})`, () =>
      Effect.gen(function*() {
        const { call, times } = yield* scripted(Array.from({ length: 10 }, () => ({ status: 500 })))
        const { poll } = yield* start(run(call))
        yield* TestClock.adjust("1 minute")
        const error = failureOf(yield* poll)
        expect(error._tag).toBe("InternalServerError")
        expect((yield* Ref.get(times)).length).toBe(4)
        if (name === "RetryPolicy.retry") {
          expect([error.attempts, error.stopReason]).toStrictEqual([4, Option.some("attempts")])
        }
      }))

    it.effect(`throttled failures stop after maxAttempts (${name})`, () =>
      Effect.gen(function*() {
        const { call, times } = yield* scripted(
          Array.from({ length: 20 }, () => ({ status: 429, headers: { "retry-after": "1" } }))
        )
        const { poll } = yield* start(run(call))
        yield* TestClock.adjust("1 minute")
        const error = failureOf(yield* poll)
        expect(error._tag).toBe("TooManyRequests")
        expect((yield* Ref.get(times)).length).toBe(10)
        if (name === "RetryPolicy.retry") {
          expect([error.attempts, error.stopReason]).toStrictEqual([10, Option.some("attempts")])
        }
      }))
  }

  it.effect("custom limits: 2 transient attempts; a bare 429 backs off from 1 s for 3 attempts", () =>
    Effect.gen(function*() {
      const transient = yield* scripted(Array.from({ length: 5 }, () => ({ status: 504 })))
      const throttled = yield* scripted(Array.from({ length: 5 }, () => ({ status: 429 })))
      const options = { maxAttempts: 3, maxTransientAttempts: 2, backoff: { jitter: "none" } } as const
      const a = yield* start(RetryPolicy.retry(transient.call, options))
      const b = yield* start(RetryPolicy.retry(throttled.call, options))
      yield* TestClock.adjust("1 minute")
      expect(failureOf(yield* a.poll).stopReason).toStrictEqual(Option.some("attempts"))
      expect(yield* Ref.get(transient.times)).toStrictEqual([0, 100])
      const error = failureOf(yield* b.poll)
      expect([error.attempts, error.stopReason]).toStrictEqual([3, Option.some("attempts")])
      expect(yield* Ref.get(throttled.times)).toStrictEqual([0, 1000, 3000])
    }))

  it.effect("maxAttempts counts every attempt, transient or throttled", () =>
    Effect.gen(function*() {
      const { call, times } = yield* scripted([{ status: 503 }, { status: 429 }, { status: 429 }, { status: 429 }])
      const { poll } = yield* start(RetryPolicy.retry(call, { maxAttempts: 3, backoff: { jitter: "none" } }))
      yield* TestClock.adjust("1 minute")
      const error = failureOf(yield* poll)
      expect([error._tag, error.attempts, error.stopReason]).toStrictEqual([
        "TooManyRequests",
        3,
        Option.some("attempts")
      ])
      // 100 ms after the 503 (transient backoff), 1 s after the first 429 (throttled backoff).
      expect(yield* Ref.get(times)).toStrictEqual([0, 100, 1100])
    }))

  it.effect("transient failures have their own allowance inside maxAttempts", () =>
    Effect.gen(function*() {
      const { call, times } = yield* scripted([{ status: 503 }, { status: 429 }, { status: 503 }, { status: 429 }])
      const { poll } = yield* start(RetryPolicy.retry(call, { maxTransientAttempts: 2, backoff: { jitter: "none" } }))
      yield* TestClock.adjust("1 minute")
      const error = failureOf(yield* poll)
      expect([error._tag, error.attempts, error.stopReason]).toStrictEqual([
        "ServiceUnavailable",
        3,
        Option.some("attempts")
      ])
      // 100 ms after the first 503 (transient backoff), 1 s after the 429 (throttled backoff).
      expect(yield* Ref.get(times)).toStrictEqual([0, 100, 1100])
    }))

  it.effect("a single attempt allowed means no retry", () =>
    Effect.gen(function*() {
      const { call, times } = yield* scripted([{ status: 503 }])
      const error = yield* Effect.flip(RetryPolicy.retry(call, { maxAttempts: 1 }))
      expect([error.attempts, error.stopReason]).toStrictEqual([1, Option.some("attempts")])
      expect(yield* Ref.get(times)).toStrictEqual([0])
    }))
})

describe("failures that are not status errors", () => {
  const failing = Effect.gen(function*() {
    const count = yield* Ref.make(0)
    const boom = new Error("boom")
    const call = Effect.zipRight(Ref.update(count, (n) => n + 1), Effect.fail(boom))
    return { call, count, boom }
  })

  it.effect("stop at once, unchanged, by default", () =>
    Effect.gen(function*() {
      const { boom, call, count } = yield* failing
      const { poll } = yield* start(RetryPolicy.retry(call))
      yield* TestClock.adjust(0)
      expect(failureOf(yield* poll)).toBe(boom)
      expect(yield* Ref.get(count)).toBe(1)
    }))

  it.effect("are retried as classify says", () =>
    Effect.gen(function*() {
      const { boom, call, count } = yield* failing
      const { poll } = yield* start(
        RetryPolicy.retry(call, { classify: () => "transient", backoff: { jitter: "none" } })
      )
      // Attempts at 0, 100, 300 and 700 ms, then maxAttempts (4) is spent.
      yield* TestClock.adjust(299)
      expect(yield* Ref.get(count)).toBe(2)
      yield* TestClock.adjust(1)
      expect(yield* Ref.get(count)).toBe(3)
      yield* TestClock.adjust(399)
      expect([yield* Ref.get(count), yield* poll]).toStrictEqual([3, Option.none()])
      yield* TestClock.adjust(1)
      expect(failureOf(yield* poll)).toBe(boom)
      expect(yield* Ref.get(count)).toBe(4)
    }))

  it("decide: not-retryable by default, then as classify says", () => {
    const boom = new Error("boom")
    const decide = (options: RetryPolicy.RetryOptions, error: unknown = boom) => {
      const policy = RetryPolicy.make(options)
      return RetryPolicy.decide(policy, RetryPolicy.initialState(policy, 0), error, 0, 0.5)[0]
    }
    expect(decide({})).toStrictEqual({ _tag: "Stop", reason: "not-retryable", attempts: 1 })
    expect(decide({ classify: () => undefined })).toStrictEqual({ _tag: "Stop", reason: "not-retryable", attempts: 1 })
    expect(decide({ classify: () => "permanent" })).toStrictEqual({ _tag: "Stop", reason: "permanent", attempts: 1 })
    const transient = decide({ classify: (e) => (e === boom ? "transient" : undefined) })
    expect(transient).toMatchObject({ _tag: "Retry", source: "backoff", kind: "transient", attempts: 1 })
    expect(transient._tag === "Retry" && Duration.toMillis(transient.delay)).toBe(50)
    const throttled = decide({ classify: () => "throttled" })
    expect(throttled._tag === "Retry" && [throttled.kind, Duration.toMillis(throttled.delay)]).toStrictEqual([
      "throttled",
      500
    ])
    // Status errors carry their own kind: classify is not asked.
    expect(decide({ classify: () => "transient" }, errorAt({ status: 404 }, 0))).toStrictEqual({
      _tag: "Stop",
      reason: "permanent",
      attempts: 1
    })
  })
})

describe("RetryPolicy.decide", () => {
  const policy = RetryPolicy.make()
  const initial = RetryPolicy.initialState(policy, 0)

  it("matches the documented example: 7 s plus half of a 140 ms spread", () => {
    const [decision, next] = RetryPolicy.decide(
      policy,
      initial,
      errorAt({ status: 429, headers: { "retry-after": "7" } }, 0),
      0,
      0.5
    )
    expect(decision).toStrictEqual({
      _tag: "Retry",
      delay: Duration.millis(7070),
      source: "retry-after",
      kind: "throttled",
      attempts: 1
    })
    expect(next).toStrictEqual({
      attempts: 1,
      transientFailures: 0,
      throttledFailures: 1,
      startedAt: 0,
      previousDelay: 100
    })
  })

  it("treats a zero hint (Retry-After: 0, or a past date) as no pause: transient, backed off as such", () => {
    for (const headers of [{ "retry-after": "0" }, { "retry-after": "Sun, 06 Nov 1994 08:49:37 GMT" }]) {
      const now = Date.UTC(2026, 10, 23)
      const error = errorAt({ status: 503, headers }, now)
      expect(error.kind).toBe("transient")
      // The transient backoff: full jitter of 100 ms for the first retry, never an instant re-send burst.
      const [decision] = RetryPolicy.decide(policy, RetryPolicy.initialState(policy, now), error, now, 0.5)
      expect(decision).toStrictEqual({
        _tag: "Retry",
        delay: Duration.millis(50),
        source: "backoff",
        kind: "transient",
        attempts: 1
      })
    }
    // A 429 with Retry-After: 0 stays throttled by its status, and backs off from the throttled base (1 s).
    const now = Date.UTC(2026, 10, 23)
    const throttled = errorAt({ status: 429, headers: { "retry-after": "0" } }, now)
    const [decision] = RetryPolicy.decide(policy, RetryPolicy.initialState(policy, now), throttled, now, 0.5)
    expect(decision).toStrictEqual({
      _tag: "Retry",
      delay: Duration.millis(500),
      source: "backoff",
      kind: "throttled",
      attempts: 1
    })
  })

  it("caps the spread at maxRetryAfterSpread, and measures the wait from now", () => {
    // The default spread reaches the 1 s cap only past a 50 s hint: allow a 60 s one.
    const long = RetryPolicy.make({ maxRetryAfter: "1 minute", timeout: "2 minutes" })
    const error = errorAt({ status: 429, headers: { "retry-after": "60" } }, 1_000)
    // spread = min(1 s, 0.02 * 60 s = 1.2 s) = 1 s; 3 s have passed since the response arrived.
    const [decision] = RetryPolicy.decide(long, RetryPolicy.initialState(long, 0), error, 4_000, 0.5)
    expect(decision._tag === "Retry" && Duration.toMillis(decision.delay)).toBe(57_500)
    // Under 50 s the cap does not bite: a 20 s hint has a spread of 0.02 * 20 s = 400 ms, half of it drawn here.
    const shorter = errorAt({ status: 429, headers: { "retry-after": "20" } }, 1_000)
    const [uncapped] = RetryPolicy.decide(policy, initial, shorter, 4_000, 0.5)
    expect(uncapped._tag === "Retry" && Duration.toMillis(uncapped.delay)).toBe(17_200)
  })

  it("clips the spread so the wait ends at the timeout at the latest", () => {
    // spread = 0.9 * min(1 s, 0.02 * 7 s) = 126 ms, clipped to the 100 ms left after the 7 s hint.
    const tight = RetryPolicy.make({ timeout: 7_100 })
    const error = errorAt({ status: 429, headers: { "retry-after": "7" } }, 0)
    const [decision] = RetryPolicy.decide(tight, RetryPolicy.initialState(tight, 0), error, 0, 0.9)
    expect(decision._tag === "Retry" && Duration.toMillis(decision.delay)).toBe(7_100)
    // Had the timeout started 200 ms before the response, the server's instant would be past it.
    const [stop] = RetryPolicy.decide(tight, RetryPolicy.initialState(tight, -200), error, 0, 0)
    expect(stop).toStrictEqual({ _tag: "Stop", reason: "timeout", attempts: 1 })
  })

  it("a hint in the past means no wait beyond the spread", () => {
    const error = errorAt({ status: 503, headers: { "retry-after": "2" } }, 0)
    // spread = 0.5 * min(1 s, 0.02 * 2 s) = 20 ms
    const [decision] = RetryPolicy.decide(policy, initial, error, 5_000, 0.5)
    expect(decision).toStrictEqual({
      _tag: "Retry",
      delay: Duration.millis(20),
      source: "retry-after",
      kind: "throttled",
      attempts: 1
    })
  })

  it("backs off by the failure's own count, and remembers the last delay", () => {
    const equal = RetryPolicy.make({ backoff: { jitter: "equal" } })
    let state = RetryPolicy.initialState(equal, 0)
    const delays: Array<number> = []
    for (let i = 0; i < 3; i++) {
      const [decision, next] = RetryPolicy.decide(equal, state, errorAt({ status: 502 }, 0), 0, 0.5)
      if (decision._tag === "Retry") delays.push(Duration.toMillis(decision.delay))
      state = next
    }
    expect(delays).toStrictEqual([75, 150, 300])
    expect(state).toStrictEqual({
      attempts: 3,
      transientFailures: 3,
      throttledFailures: 0,
      startedAt: 0,
      previousDelay: 300
    })
  })

  it("stops at once on a permanent failure", () => {
    expect(RetryPolicy.decide(policy, initial, errorAt({ status: 400 }, 0), 0, 0.5)[0]).toStrictEqual({
      _tag: "Stop",
      reason: "permanent",
      attempts: 1
    })
  })

  it.effect("as a schedule, outputs each decision, the last one a Stop", () =>
    Effect.gen(function*() {
      const errors = [429, 429, 404].map((status) => errorAt({ status, headers: { "retry-after": "1" } }, 0))
      const decisions = Chunk.toReadonlyArray(yield* Schedule.run(RetryPolicy.schedule(), 0, errors))
      expect(decisions.map((d) => [d._tag, d.attempts])).toStrictEqual([["Retry", 1], ["Retry", 2], ["Stop", 3]])
      // spread = random * min(1 s, 0.02 * 1 s) = random * 20 ms
      expect(decisions[0]).toStrictEqual({
        _tag: "Retry",
        delay: Duration.millis(1000 + DRAWS[0]! * 20),
        source: "retry-after",
        kind: "throttled",
        attempts: 1
      })
      // The second step comes at the end of the first wait: the instant has passed, only a spread is left.
      expect(decisions[1]).toStrictEqual({
        _tag: "Retry",
        delay: Duration.millis(DRAWS[1]! * 20),
        source: "retry-after",
        kind: "throttled",
        attempts: 2
      })
      expect(decisions[2]).toStrictEqual({ _tag: "Stop", reason: "permanent", attempts: 3 })
    }).pipe(Effect.withRandom(Random.make(SEED))))
})

describe("RetryPolicy.validate and make", () => {
  const problems = (options: RetryPolicy.RetryOptions) =>
    Either.match(RetryPolicy.validate(options), { onLeft: (e) => e.problems, onRight: () => [] })

  it("fills in bounded defaults", () => {
    const policy = RetryPolicy.make()
    expect({ ...policy, classify: undefined }).toStrictEqual({
      maxAttempts: 10,
      maxTransientAttempts: 4,
      timeout: 30_000,
      maxRetryAfter: Duration.millis(30_000),
      retryAfterSpread: 0.02,
      maxRetryAfterSpread: 1000,
      transientBackoff: { baseDelay: 100, maxDelay: 10_000, factor: 2, jitter: "full" },
      throttledBackoff: { baseDelay: 1000, maxDelay: 10_000, factor: 2, jitter: "full" },
      classify: undefined,
      backoff: undefined,
      onRetry: undefined
    })
    expect(policy.classify(new Error("x"))).toBe(undefined)
    expect(Either.isRight(RetryPolicy.validate({ timeout: "10 seconds" }))).toBe(true)
  })

  it("gives every problem with an exact message", () => {
    expect(problems({ maxAttempts: -1 })).toStrictEqual(["maxAttempts must be a whole number of at least 1, got -1"])
    expect(problems({ maxAttempts: 0 })).toStrictEqual(["maxAttempts must be a whole number of at least 1, got 0"])
    expect(problems({ maxTransientAttempts: 2.5 })).toStrictEqual([
      "maxTransientAttempts must be a whole number of at least 1, got 2.5"
    ])
    expect(problems({ timeout: Number.NaN })).toStrictEqual([
      "timeout must be a duration (a number of milliseconds or a string like \"5 seconds\"), got NaN"
    ])
    expect(problems({ timeout: -5 })).toStrictEqual(["timeout must be finite and not negative, got -5"])
    expect(problems({ timeout: "-5 seconds" })).toStrictEqual([
      "timeout must be finite and not negative, got \"-5 seconds\""
    ])
    expect(problems({ timeout: "5s" as Duration.DurationInput })).toStrictEqual([
      "timeout must be a duration (a number of milliseconds or a string like \"5 seconds\"), got \"5s\""
    ])
    expect(problems({ timeout: Number.POSITIVE_INFINITY })).toStrictEqual([
      "timeout must be finite and not negative, got Infinity"
    ])
    expect(problems({ timeout: "30 days" })).toStrictEqual([
      "timeout must be at most 2147483647 ms, the longest timer JavaScript holds"
    ])
    expect(problems({ backoff: { maxDelay: 10, baseDelay: 100 } })).toStrictEqual([
      "backoff.maxDelay (10 ms) must be at least backoff.baseDelay (100 ms)",
      "backoff.maxDelay (10 ms) must be at least backoff.throttledBaseDelay (1000 ms)"
    ])
    expect(problems({ backoff: { jitter: "bogus" as any } })).toStrictEqual([
      "backoff.jitter must be one of \"none\", \"full\", \"equal\", \"decorrelated\", \"proportional\", got \"bogus\""
    ])
    expect(problems({ retryAfterSpread: 2 })).toStrictEqual(["retryAfterSpread must be a number from 0 to 1, got 2"])
    expect(problems({ retryAfterSpread: Number.NaN })).toStrictEqual([
      "retryAfterSpread must be a number from 0 to 1, got NaN"
    ])
    expect(problems({ maxRetryAfter: -1, maxRetryAfterSpread: "1 eon" as Duration.DurationInput })).toStrictEqual([
      "maxRetryAfter must be finite and not negative, got -1",
      "maxRetryAfterSpread must be a duration (a number of milliseconds or a string like \"5 seconds\"), got \"1 eon\""
    ])
    expect(problems({ backoff: { throttledBaseDelay: 0 } })).toStrictEqual([
      "backoff.throttledBaseDelay must be more than zero"
    ])
    expect(problems({ classify: 5 as any })).toStrictEqual(["classify must be a function, got 5"])
  })

  it("rejects negative or NaN parts of a [seconds, nanos] duration instead of reading them as zero", () => {
    expect(problems({ timeout: [-5, 0] })).toStrictEqual(["timeout must be finite and not negative, got [-5,0]"])
    expect(problems({ timeout: [0, -5] })).toStrictEqual(["timeout must be finite and not negative, got [0,-5]"])
    expect(problems({ timeout: [Number.NaN, 0] })).toStrictEqual([
      "timeout must be a duration (a number of milliseconds or a string like \"5 seconds\"), got [NaN,0]"
    ])
    expect(problems({ timeout: [Number.POSITIVE_INFINITY, 0] })).toStrictEqual([
      "timeout must be finite and not negative, got [Infinity,0]"
    ])
    expect(problems({ timeout: [5, 0] })).toStrictEqual([])
    expect(RetryPolicy.make({ timeout: [5, 500_000_000] }).timeout).toBe(5_500)
  })

  it("lists several problems at once", () => {
    expect(problems({ maxAttempts: 0, timeout: -1, retryAfterSpread: -0.1 })).toStrictEqual([
      "maxAttempts must be a whole number of at least 1, got 0",
      "timeout must be finite and not negative, got -1",
      "retryAfterSpread must be a number from 0 to 1, got -0.1"
    ])
  })

  it("make throws InvalidRetryOptions with every problem in its message", () => {
    let thrown: unknown
    try {
      RetryPolicy.make({ maxAttempts: -1, timeout: Number.NaN })
    } catch (e) {
      thrown = e
    }
    expect(thrown).toBeInstanceOf(RetryPolicy.InvalidRetryOptions)
    const error = thrown as RetryPolicy.InvalidRetryOptions
    expect(error._tag).toBe("InvalidRetryOptions")
    expect(error.problems).toStrictEqual([
      "maxAttempts must be a whole number of at least 1, got -1",
      "timeout must be a duration (a number of milliseconds or a string like \"5 seconds\"), got NaN"
    ])
    expect(error.message).toBe(
      "Invalid retry options: maxAttempts must be a whole number of at least 1, got -1; timeout must be a duration (a number of milliseconds or a string like \"5 seconds\"), got NaN"
    )
    expect(() => RetryPolicy.schedule({ backoff: { jitter: "bogus" as any } })).toThrow(RetryPolicy.InvalidRetryOptions)
    expect(() => RetryPolicy.retry(Effect.void, { maxAttempts: 0 })).toThrow(RetryPolicy.InvalidRetryOptions)
  })

  it("accepts a built policy as well as options", () => {
    const policy = RetryPolicy.make({ maxAttempts: 2 })
    const error = errorAt({ status: 500 }, 0)
    const [first] = RetryPolicy.decide(policy, RetryPolicy.initialState(policy, 0), error, 0, 0)
    expect(first._tag).toBe("Retry")
    expect(Either.isLeft(RetryPolicy.validate({ maxAttempts: 0 }))).toBe(true)
  })
})

describe("onRetry and backoff", () => {
  it.effect("onRetry runs once per retry, before the wait, with the attempt, the error, the exact delay and its source", () =>
    Effect.gen(function*() {
      const { call, times } = yield* scripted([
        { status: 503 },
        { status: 429, headers: { "retry-after": "2" } },
        { status: 502 }
      ])
      const seen: Array<readonly [number, number, string, string, string, number]> = []
      const onRetry = (info: RetryPolicy.RetryInfo) =>
        Effect.map(Clock.currentTimeMillis, (now) => {
          seen.push([
            info.attempt,
            Duration.toMillis(info.delay),
            info.source,
            info.kind,
            (info.error as StatusError.StatusError)._tag,
            now
          ])
        })
      const { poll } = yield* start(
        RetryPolicy.retry(call, { backoff: { jitter: "none" }, retryAfterSpread: 0, onRetry })
      )
      yield* TestClock.adjust("1 minute")
      expect(Option.map(yield* poll, Exit.isSuccess)).toStrictEqual(Option.some(true))
      expect(seen).toStrictEqual([
        [1, 100, "backoff", "transient", "ServiceUnavailable", 0],
        [2, 2000, "retry-after", "throttled", "TooManyRequests", 100],
        [3, 200, "backoff", "transient", "BadGateway", 2100]
      ])
      expect(yield* Ref.get(times)).toStrictEqual([0, 100, 2100, 2300])
    }))

  it.effect("onRetry is not run when the call gives up or succeeds at once", () =>
    Effect.gen(function*() {
      const { call } = yield* scripted([{ status: 404 }])
      let runs = 0
      const error = yield* Effect.flip(RetryPolicy.retry(call, { onRetry: () => Effect.sync(() => runs++) }))
      expect([error._tag, runs]).toStrictEqual(["NotFound", 0])
    }))

  it.effect("backoff takes any Schedule: its delays for the waits the server does not set, its end stops the call", () =>
    Effect.gen(function*() {
      const { call, times } = yield* scripted([
        { status: 500 },
        { status: 429, headers: { "retry-after": "1" } },
        { status: 500 },
        { status: 500 },
        { status: 500 }
      ])
      const backoff = Schedule.spaced("250 millis").pipe(Schedule.intersect(Schedule.recurs(2)))
      const { poll } = yield* start(
        RetryPolicy.retry(call, { backoff, maxTransientAttempts: 10, retryAfterSpread: 0 })
      )
      yield* TestClock.adjust("1 minute")
      const error = failureOf(yield* poll)
      // 250 ms, then the server's 1 s (no step of the schedule), 250 ms, then the schedule is done.
      expect(yield* Ref.get(times)).toStrictEqual([0, 250, 1250, 1500])
      expect([error._tag, error.attempts, error.stopReason]).toStrictEqual([
        "InternalServerError",
        4,
        Option.some("attempts")
      ])
    }))

  it.effect("backoff as a Schedule for Effect.retry too", () =>
    Effect.gen(function*() {
      const { call, times } = yield* scripted([{ status: 500 }, { status: 500 }])
      const { poll } = yield* start(
        Effect.retry(call, RetryPolicy.schedule({ backoff: Schedule.exponential("10 millis", 3) }))
      )
      yield* TestClock.adjust("1 minute")
      expect(Option.map(yield* poll, Exit.isSuccess)).toStrictEqual(Option.some(true))
      expect(yield* Ref.get(times)).toStrictEqual([0, 10, 40])
    }))

  it("backoff is checked: a Schedule or the settings of the backoff, each named by its path", () => {
    const problems = (options: RetryPolicy.RetryOptions) =>
      Either.match(RetryPolicy.validate(options), { onLeft: (e) => e.problems, onRight: () => [] })
    expect(problems({ backoff: "fast" as never })).toStrictEqual([
      "backoff must be a Schedule or { baseDelay, throttledBaseDelay, maxDelay, jitter }, got \"fast\""
    ])
    expect(problems({ backoff: { baseDelay: 5, factor: 3 } as never })).toStrictEqual([
      "backoff.factor is not a backoff option"
    ])
    expect(problems({ backoff: { baseDelay: -5 } })).toStrictEqual([
      "backoff.baseDelay must be finite and not negative, got -5"
    ])
    expect(problems({ backoff: Schedule.spaced(10) })).toStrictEqual([])
    expect(problems({ backoff: { baseDelay: "50 millis", jitter: "none" } })).toStrictEqual([])
    expect(RetryPolicy.make({ backoff: { baseDelay: "50 millis", jitter: "none" } }).transientBackoff).toStrictEqual({
      baseDelay: 50,
      maxDelay: 10_000,
      factor: 2,
      jitter: "none"
    })
    expect(problems({ onRetry: 1 as never })).toStrictEqual(["onRetry must be a function returning an Effect, got 1"])
  })

  it("defaults is the one place the defaults are written", () => {
    const policy = RetryPolicy.make()
    expect(policy.maxAttempts).toBe(RetryPolicy.defaults.maxAttempts)
    expect(policy.maxTransientAttempts).toBe(RetryPolicy.defaults.maxTransientAttempts)
    expect(policy.timeout).toBe(Duration.toMillis(RetryPolicy.defaults.timeout))
    expect(policy.retryAfterSpread).toBe(RetryPolicy.defaults.retryAfterSpread)
    expect(policy.transientBackoff.baseDelay).toBe(Duration.toMillis(RetryPolicy.defaults.backoff.baseDelay))
    expect(policy.throttledBackoff.baseDelay).toBe(Duration.toMillis(RetryPolicy.defaults.backoff.throttledBaseDelay))
    expect(policy.transientBackoff.maxDelay).toBe(Duration.toMillis(RetryPolicy.defaults.backoff.maxDelay))
    expect(policy.transientBackoff.jitter).toBe(RetryPolicy.defaults.backoff.jitter)
  })
})
