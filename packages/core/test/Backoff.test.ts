import { Backoff } from "@effect-retry/core"
import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as fc from "effect/FastCheck"
import * as Fiber from "effect/Fiber"
import * as Random from "effect/Random"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import * as TestClock from "effect/TestClock"

const SEED = "effect-retry/backoff"

/** The first six draws of `Random.make(SEED)`, as the schedule sees them. */
const DRAWS = [
  0.9224632811238129,
  0.6146165785595978,
  0.7374154524290008,
  0.6607769721384148,
  0.26643781000070066,
  0.5882828234683376
]

/**
 * The first six delays (ms) of `Backoff.exponential({ jitter })` with the defaults (base 100 ms, cap 10 s, factor 2)
 * under `Random.make(SEED)`. A Duration keeps whole nanoseconds, hence six decimals.
 */
const GOLDEN: Record<Backoff.Jitter, ReadonlyArray<number>> = {
  none: [100, 200, 400, 800, 1600, 3200],
  full: [92.246328, 122.923316, 294.966181, 528.621578, 426.300496, 1882.505035],
  equal: [96.123164, 161.461658, 347.48309, 664.310789, 1013.150248, 2541.252518],
  decorrelated: [284.492656, 563.100051, 1271.974492, 2555.396662, 2115.91909, 3775.448288],
  proportional: [116.898531, 209.169326, 437.986472, 851.448631, 1450.520198, 3313.002014]
}

const firstSix = (jitter: Backoff.Jitter) =>
  Schedule.run(Backoff.exponential({ jitter }), 0, [1, 2, 3, 4, 5, 6]).pipe(
    Effect.map((delays) => Chunk.toReadonlyArray(delays).map(Duration.toMillis)),
    Effect.withRandom(Random.make(SEED))
  )

/** What a Duration keeps of a delay in milliseconds: whole nanoseconds. */
const asDuration = (ms: number) => Duration.toMillis(Duration.millis(ms))

describe("Backoff.resolve", () => {
  it("fills in the defaults, in milliseconds", () => {
    expect(Backoff.resolve()).toStrictEqual({ baseDelay: 100, maxDelay: 10_000, factor: 2, jitter: "full" })
    expect(Backoff.resolve({ baseDelay: "1 second" })).toStrictEqual({
      baseDelay: 1000,
      maxDelay: 10_000,
      factor: 2,
      jitter: "full"
    })
    expect(Backoff.resolve({ baseDelay: 50, maxDelay: "2 minutes", factor: 1.5, jitter: "equal" })).toStrictEqual({
      baseDelay: 50,
      maxDelay: 120_000,
      factor: 1.5,
      jitter: "equal"
    })
  })

  it("throws InvalidRetryOptions listing every problem", () => {
    const problems = (options: Backoff.BackoffOptions) => {
      try {
        Backoff.resolve(options)
        return []
      } catch (e) {
        expect((e as { _tag: string })._tag).toBe("InvalidRetryOptions")
        return (e as { problems: ReadonlyArray<string> }).problems
      }
    }
    expect(problems({ baseDelay: -1, factor: 0.5 })).toStrictEqual([
      "baseDelay must be finite and not negative, got -1",
      "factor must be a number from 1 to 1000000, got 0.5"
    ])
    expect(problems({ baseDelay: 0 })).toStrictEqual(["baseDelay must be more than zero"])
    expect(problems({ baseDelay: "1 second", maxDelay: 500 })).toStrictEqual([
      "maxDelay (500 ms) must be at least baseDelay (1000 ms)"
    ])
    expect(problems({ maxDelay: "30 days" })).toStrictEqual([
      "maxDelay must be at most 2147483647 ms, the longest timer JavaScript holds"
    ])
    expect(problems({ jitter: "bogus" as Backoff.Jitter, factor: Number.NaN })).toStrictEqual([
      "factor must be a number from 1 to 1000000, got NaN",
      "jitter must be one of \"none\", \"full\", \"equal\", \"decorrelated\", \"proportional\", got \"bogus\""
    ])
    expect(() => Backoff.exponential({ baseDelay: "soon" as Duration.DurationInput })).toThrow(
      "Invalid retry options: baseDelay must be a duration (a number of milliseconds or a string like \"5 seconds\"), got \"soon\""
    )
  })

  it("lists every jitter", () => {
    expect(Backoff.jitters).toStrictEqual(["none", "full", "equal", "decorrelated", "proportional"])
  })
})

describe("Backoff.delayMillis", () => {
  const withJitter = (jitter: Backoff.Jitter) => Backoff.resolve({ jitter })

  it("matches the documented examples", () => {
    const full = withJitter("full")
    expect(Backoff.delayMillis(full, 3, 0.5, full.baseDelay)).toBe(400)
    expect(Backoff.delayMillis(full, 10_000, 0.5, full.baseDelay)).toBe(5000)
  })

  it("applies each formula with e = min(cap, base * factor^n)", () => {
    const d = (jitter: Backoff.Jitter, n: number, r: number, previous = 100) =>
      Backoff.delayMillis(withJitter(jitter), n, r, previous)
    expect([0, 1, 2, 6, 7, 200].map((n) => d("none", n, 0.99))).toStrictEqual([100, 200, 400, 6400, 10_000, 10_000])
    expect([d("full", 0, 0), d("full", 2, 0.25), d("full", 8, 0.5)]).toStrictEqual([0, 100, 5000])
    expect([d("equal", 0, 0), d("equal", 2, 0.5), d("equal", 8, 0.25)]).toStrictEqual([50, 300, 6250])
    expect([d("proportional", 0, 0), d("proportional", 2, 0.5), d("proportional", 8, 0), d("proportional", 8, 0.9)])
      .toStrictEqual([80, 400, 8000, 10_000])
    // Decorrelated grows from the previous delay, not from the attempt number.
    expect([d("decorrelated", 0, 0), d("decorrelated", 9, 0.5, 100), d("decorrelated", 0, 0.5, 1000)]).toStrictEqual([
      100,
      200,
      1550
    ])
    expect(d("decorrelated", 0, 0.99, 9000)).toBe(10_000)
  })

  it("grows by the factor", () => {
    const options = Backoff.resolve({ jitter: "none", baseDelay: 10, factor: 3, maxDelay: 1000 })
    expect([0, 1, 2, 3, 4, 5].map((n) => Backoff.delayMillis(options, n, 0.5, 10))).toStrictEqual([
      10,
      30,
      90,
      270,
      810,
      1000
    ])
    const flat = Backoff.resolve({ jitter: "none", factor: 1 })
    expect(Backoff.delayMillis(flat, 10_000, 0.5, 100)).toBe(100)
  })

  const options = fc.record({
    baseDelay: fc.integer({ min: 1, max: 60_000 }),
    extra: fc.integer({ min: 0, max: 2_000_000_000 }),
    factor: fc.double({ min: 1, max: 10, noNaN: true }),
    jitter: fc.constantFrom(...Backoff.jitters)
  }).map(({ baseDelay, extra, factor, jitter }) =>
    Backoff.resolve({ baseDelay, maxDelay: Math.min(2 ** 31 - 1, baseDelay + extra), factor, jitter })
  )
  const random = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true })
  const previousIn = (o: Backoff.Resolved) => fc.double({ min: o.baseDelay, max: o.maxDelay, noNaN: true })

  /** The documented bounds of one delay. */
  const checkBounds = (o: Backoff.Resolved, attempt: number, r: number, previous: number) => {
    const d = Backoff.delayMillis(o, attempt, r, previous)
    expect(Number.isFinite(d)).toBe(true)
    expect(d).toBeGreaterThanOrEqual(0)
    expect(d).toBeLessThanOrEqual(o.maxDelay)
    const e = Math.min(o.maxDelay, o.baseDelay * Math.pow(o.factor, attempt))
    switch (o.jitter) {
      case "none":
        expect(d).toBe(e)
        break
      case "full":
        expect(d).toBeLessThanOrEqual(e)
        break
      case "equal":
        expect(d).toBeGreaterThanOrEqual(e / 2)
        expect(d).toBeLessThanOrEqual(e)
        break
      case "proportional":
        expect(d).toBeGreaterThanOrEqual(0.8 * e)
        expect(d).toBeLessThanOrEqual(Math.min(o.maxDelay, 1.2 * e))
        break
      case "decorrelated":
        expect(d).toBeGreaterThanOrEqual(o.baseDelay)
        expect(d).toBeLessThanOrEqual(Math.max(o.baseDelay, 3 * previous))
        break
    }
  }

  it.prop(
    "stays within its documented bounds at attempt 1 and 10 000",
    [options.chain((o) => fc.tuple(fc.constant(o), random, previousIn(o)))],
    ([[o, r, previous]]) => {
      checkBounds(o, 1, r, previous)
      checkBounds(o, 10_000, r, previous)
    },
    { fastCheck: { numRuns: 500 } }
  )

  it.prop(
    "stays within its documented bounds at any attempt",
    [options.chain((o) => fc.tuple(fc.constant(o), fc.nat(), random, previousIn(o)))],
    ([[o, attempt, r, previous]]) => checkBounds(o, attempt, r, previous),
    { fastCheck: { numRuns: 500 } }
  )

  it.prop(
    "never NaN or Infinity even at absurd attempts and the largest factor",
    [
      fc.constantFrom(...Backoff.jitters),
      fc.constantFrom(0, 1, 1024, 10_000, 2 ** 31, Number.MAX_SAFE_INTEGER),
      random
    ],
    ([jitter, attempt, r]) => {
      const o = Backoff.resolve({ jitter, factor: 1e6, maxDelay: 2 ** 31 - 1 })
      const d = Backoff.delayMillis(o, attempt, r, o.maxDelay)
      expect(Number.isFinite(d)).toBe(true)
      expect(d).toBeLessThanOrEqual(o.maxDelay)
    }
  )
})

describe("Backoff.exponential golden sequences", () => {
  it.effect("the seed gives these draws, each in [0, 1)", () =>
    Effect.gen(function*() {
      const draws = yield* Effect.all(DRAWS.map(() => Random.next)).pipe(Effect.withRandom(Random.make(SEED)))
      expect(draws).toStrictEqual(DRAWS)
      for (const r of draws) {
        expect(r).toBeGreaterThanOrEqual(0)
        expect(r).toBeLessThan(1)
      }
    }))

  for (const jitter of Backoff.jitters) {
    it.effect(`${jitter}: the first six delays under a fixed seed`, () =>
      Effect.gen(function*() {
        expect(yield* firstSix(jitter)).toStrictEqual(GOLDEN[jitter])
      }))

    it(`${jitter}: the golden delays are delayMillis driven by the same draws`, () => {
      const options = Backoff.resolve({ jitter })
      let previous = options.baseDelay
      const delays = DRAWS.map((r, n) => (previous = Backoff.delayMillis(options, n, r, previous)))
      expect(delays.map(asDuration)).toStrictEqual(GOLDEN[jitter])
    })
  }

  it("the golden delays follow the formulas, written out by hand", () => {
    const e = [100, 200, 400, 800, 1600, 3200]
    expect(GOLDEN.none).toStrictEqual(e)
    expect(DRAWS.map((r, n) => asDuration(r * e[n]!))).toStrictEqual(GOLDEN.full)
    expect(DRAWS.map((r, n) => asDuration(e[n]! / 2 + r * e[n]! / 2))).toStrictEqual(GOLDEN.equal)
    expect(DRAWS.map((r, n) => asDuration(e[n]! * (0.8 + 0.4 * r)))).toStrictEqual(GOLDEN.proportional)
    let previous = 100
    const decorrelated = DRAWS.map((r) => (previous = Math.min(10_000, 100 + r * (Math.max(100, 3 * previous) - 100))))
    expect(decorrelated.map(asDuration)).toStrictEqual(GOLDEN.decorrelated)
  })

  it("each golden delay implies its draw, in [0, 1)", () => {
    const e = [100, 200, 400, 800, 1600, 3200]
    const implied: Record<Exclude<Backoff.Jitter, "none">, ReadonlyArray<number>> = {
      full: GOLDEN.full.map((d, n) => d / e[n]!),
      equal: GOLDEN.equal.map((d, n) => (d - e[n]! / 2) / (e[n]! / 2)),
      proportional: GOLDEN.proportional.map((d, n) => (d / e[n]! - 0.8) / 0.4),
      decorrelated: GOLDEN.decorrelated.map((d, n) => {
        const previous = n === 0 ? 100 : GOLDEN.decorrelated[n - 1]!
        return (d - 100) / (3 * previous - 100)
      })
    }
    for (const draws of Object.values(implied)) {
      draws.forEach((r, n) => {
        expect(r).toBeGreaterThanOrEqual(0)
        expect(r).toBeLessThan(1)
        expect(r).toBeCloseTo(DRAWS[n]!, 6)
      })
    }
  })
})

describe("Backoff.exponential as a retry schedule", () => {
  const failingRecordingTimes = Effect.gen(function*() {
    const times = yield* Ref.make<ReadonlyArray<number>>([])
    const call = Clock.currentTimeMillis.pipe(
      Effect.flatMap((now) => Ref.update(times, (ts) => [...ts, now])),
      Effect.zipRight(Effect.fail("boom" as const))
    )
    return { times, call }
  })

  it.effect("sleeps each delay: attempts at 0, 100, 300, 700 ms with no jitter", () =>
    Effect.gen(function*() {
      const { call, times } = yield* failingRecordingTimes
      const fiber = yield* Effect.fork(
        Effect.retry(call, Backoff.exponential({ jitter: "none" }).pipe(Schedule.intersect(Schedule.recurs(3))))
      )
      yield* TestClock.adjust(699)
      expect(yield* Ref.get(times)).toStrictEqual([0, 100, 300])
      yield* TestClock.adjust(1)
      expect(yield* Effect.flip(Fiber.join(fiber))).toBe("boom")
      expect(yield* Ref.get(times)).toStrictEqual([0, 100, 300, 700])
    }))

  it.effect("sleeps the seeded full-jitter delays", () =>
    Effect.gen(function*() {
      const { call, times } = yield* failingRecordingTimes
      const fiber = yield* Effect.fork(
        Effect.retry(call, Backoff.exponential().pipe(Schedule.intersect(Schedule.recurs(6)))).pipe(
          Effect.withRandom(Random.make(SEED))
        )
      )
      yield* TestClock.adjust("1 minute")
      expect(yield* Effect.flip(Fiber.join(fiber))).toBe("boom")
      const observed = yield* Ref.get(times)
      let at = 0
      const expected = [0, ...GOLDEN.full.map((d) => (at += d))]
      expect(observed.length).toBe(7)
      observed.forEach((t, i) => expect(t).toBeCloseTo(expected[i]!, 5))
    }))
})
