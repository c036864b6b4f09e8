import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Logger from "effect/Logger"
import * as Metric from "effect/Metric"
import * as References from "effect/References"
import * as HttpClient from "effect/http/HttpClient"
import * as HttpClientResponse from "effect/http/HttpClientResponse"
import * as Random from "effect/Random"
import * as TestClock from "effect/testing/TestClock"
import { describe, expect, it } from "vitest"
import * as Shared from "../../engine/test/shared/coordinator.js"
import { Coordinator, StatusRetry, withStatusRetry } from "../src/index.js"

/** Every draw of `Random.next` is `value`. */
const fixedRandom = (value: number): Random.Random => ({ nextDoubleUnsafe: () => value, nextIntUnsafe: () => 0 })

/** Runs one case of the shared description on the TestClock: when each call was let go, or how it was refused. */
const runCase = (c: Shared.Case) =>
  Effect.gen(function*() {
    const coordinator = yield* Coordinator.make(Shared.optionsOf(c))
    const record = Shared.recorder(c)
    const call = (spec: Shared.Call) =>
      coordinator.withPermit(Shared.requestOf(spec), (permit) =>
        Effect.gen(function*() {
          record.sent(spec, yield* Clock.currentTimeMillis)
          const answer = spec.answer ?? (yield* Effect.never)
          yield* Effect.sleep(answer.after)
          yield* coordinator.observe(permit, Shared.answerOf(answer, yield* Clock.currentTimeMillis))
        })).pipe(
          Effect.catchTag(
            "OriginHeld",
            (e) => Effect.map(Clock.currentTimeMillis, (now) => record.refused(spec, now, e))
          )
        )
    for (const spec of c.calls) {
      yield* TestClock.adjust(spec.at - (yield* Clock.currentTimeMillis))
      yield* Effect.forkChild(call(spec))
      yield* TestClock.adjust(0)
    }
    yield* TestClock.adjust(Shared.END - (yield* Clock.currentTimeMillis))
    return record.outcomes()
  }).pipe(
    Effect.provideService(Random.Random, fixedRandom(c.random ?? 0.5)),
    Effect.provide(TestClock.layer()),
    Effect.runPromise
  )

describe("Coordinator (Effect 4), on the shared description", () => {
  for (const c of Shared.cases) {
    it(c.name, async () => {
      expect(await runCase(c)).toStrictEqual(Shared.expectedOf(c))
    })
  }
})

/** A client on the TestClock: `reply` answers each request from the time and its path; every send is recorded. */
const scripted = (reply: (path: string, at: number) => { status: number; headers?: Record<string, string> }) => {
  const sent: Array<{ readonly path: string; readonly at: number }> = []
  const client = HttpClient.make((request, url) =>
    Effect.map(Clock.currentTimeMillis, (at) => {
      sent.push({ path: url.pathname, at })
      const r = reply(url.pathname, at)
      return HttpClientResponse.fromWeb(request, new Response(null, { status: r.status, headers: r.headers ?? {} }))
    })
  )
  return { raw: client, client: client.pipe(withStatusRetry({ retryAfterSpread: 0 })), sent }
}

describe("Coordinator (Effect 4)", () => {
  it("shares a server's cooldown: a call that starts during it waits for it instead of asking again", async () => {
    const { client, sent } = scripted((path, at) =>
      path === "/a" && at === 0 ? { status: 429, headers: { "retry-after": "5" } } : { status: 200 }
    )
    const program = Effect.gen(function*() {
      const first = yield* Effect.forkChild(client.get("http://api.test/a"))
      yield* TestClock.adjust("1 second")
      const second = yield* Effect.forkChild(client.get("http://api.test/b"))
      yield* TestClock.adjust("1 minute")
      return [yield* Fiber.join(first), yield* Fiber.join(second)].map((r) => r.status)
    }).pipe(Effect.provide(Coordinator.layer({ releaseSpread: 0 })), Effect.provide(TestClock.layer()))
    const statuses = await Effect.runPromise(program)
    expect(statuses).toEqual([200, 200])
    // /b is held until the cooldown ends at 5 s (no release spread); /a goes again at 5 s.
    expect(sent.map((s) => `${s.path}@${s.at}`).sort()).toEqual(["/a@0", "/a@5000", "/b@5000"])
  })

  it("fails a call at once with OriginHeld when the cooldown ends past its timeout", async () => {
    const { client, raw, sent } = scripted((_, at) =>
      at === 0 ? { status: 503, headers: { "retry-after": "20" } } : { status: 200 }
    )
    const strict = raw.pipe(withStatusRetry({ timeout: "5 seconds" }))
    const program = Effect.gen(function*() {
      const first = yield* Effect.forkChild(Effect.exit(client.get("http://api.test/a")))
      yield* TestClock.adjust("1 second")
      const second = yield* Effect.forkChild(Effect.exit(strict.get("http://api.test/b")))
      yield* TestClock.adjust("1 minute")
      yield* Fiber.join(first)
      return yield* Fiber.join(second)
    }).pipe(Effect.provide(Coordinator.layer()), Effect.provide(TestClock.layer()))
    const exit = await Effect.runPromise(program)
    expect(Exit.isFailure(exit)).toBe(true)
    expect(String(Exit.isFailure(exit) ? exit.cause : "")).toContain("OriginHeld")
    expect(sent.filter((s) => s.path === "/b")).toEqual([])
  })

  it("a retry the retry budget refuses ends the call with the status error that asked for it", async () => {
    // A dead origin: 503 to everything, no hint. 30 calls at once; the budget (k = 2, 20 requests) refuses retries.
    const { client, sent } = scripted(() => ({ status: 503 }))
    const program = Effect.gen(function*() {
      const fibers = yield* Effect.forEach(
        Array.from({ length: 30 }, (_, i) => i),
        (i) => Effect.forkChild(Effect.flip(client.get(`http://api.test/items/${i}`)))
      )
      yield* TestClock.adjust("1 minute")
      return yield* Effect.forEach(fibers, Fiber.join)
    }).pipe(Effect.provide(Coordinator.layer()), Effect.provide(TestClock.layer()))
    const errors = await Effect.runPromise(program)
    const refused = errors.filter((e) => "stopReason" in e && String(e.stopReason).includes("retry-budget"))
    expect(errors.every((e) => e._tag === "ServiceUnavailable")).toBe(true)
    expect(refused.length).toBeGreaterThan(0)
    expect(sent.length).toBeLessThan(30 * 4)
  })
})

const O = "http://api.test"
const info = (path = "/x", attempt: Coordinator.RequestInfo["attempt"] = "first"): Coordinator.RequestInfo => ({
  url: `${O}${path}`,
  attempt
})

/** Runs on the TestClock, with a metric registry of its own and every random draw `random`. */
const run = <A, E>(self: Effect.Effect<A, E>, random = 0.5): Promise<A> =>
  Effect.runPromise(
    self.pipe(
      Effect.provideService(Metric.MetricRegistry, new Map()),
      Effect.provideService(Random.Random, fixedRandom(random)),
      Effect.provide(TestClock.layer())
    )
  )

/** One call whose answer is `status` and `headers`, told at the instant it is let go. */
const told = (
  coordinator: Coordinator.Coordinator["Service"],
  status: number,
  headers: Record<string, string> = {},
  request = info()
) =>
  coordinator.withPermit(
    request,
    (permit) =>
      Effect.flatMap(Clock.currentTimeMillis, (receivedAt) =>
        coordinator.observe(permit, { status, headers, receivedAt }))
  )

/** Forks a call that records the instant it is let go. */
const timed = (coordinator: Coordinator.Coordinator["Service"], request = info()) =>
  Effect.forkChild(coordinator.withPermit(request, () => Clock.currentTimeMillis))

const count = (metric: Metric.Counter<number>) => Effect.map(Metric.value(metric), (state) => state.count)

describe("Coordinator (Effect 4): options", () => {
  const problems = (options: Coordinator.Options): ReadonlyArray<string> => {
    try {
      Coordinator.make(options)
    } catch (e) {
      expect(e).toBeInstanceOf(StatusRetry.InvalidRetryOptions)
      return (e as StatusRetry.InvalidRetryOptions).problems
    }
    throw new Error("no InvalidRetryOptions thrown")
  }

  it("throws InvalidRetryOptions listing each problem, naming the option", () => {
    expect(problems({ releaseSpread: -1 })).toStrictEqual([
      "releaseSpread must be a duration from 0 to 2147483647 ms, got -1"
    ])
    expect(problems({ retryBudget: { k: 0 } })).toStrictEqual(["retryBudget.k must be a number from 1 to 1000, got 0"])
    expect(problems({ retryBudget: { minRequests: 1.5 } })).toStrictEqual([
      "retryBudget.minRequests must be a whole number of at least 0, got 1.5"
    ])
    expect(problems({ limits: { [O]: { requests: 0, window: "1 second" } } })).toStrictEqual([
      "limits[\"http://api.test\"].requests must be a whole number of at least 1, got 0"
    ])
    expect(problems({ limits: { [O]: { requests: 10, window: "1 second", burst: 11 } } })).toStrictEqual([
      "limits[\"http://api.test\"].burst must be at most its requests, got 11"
    ])
    expect(problems({ maxOrigins: 0, originTtl: "-1 seconds", retryBudget: { window: 0 } })).toStrictEqual([
      "retryBudget.window must be more than zero",
      "originTtl must be a duration from 0 to 2147483647 ms, got \"-1 seconds\"",
      "maxOrigins must be a whole number of at least 1, got 0"
    ])
    expect(problems({ key: "authorization" as never, cautiousStart: "yes" as never })).toStrictEqual([
      "cautiousStart must be true or false, got \"yes\"",
      "key must be a function of the request, got \"authorization\""
    ])
    expect(problems({ retryBudget: 3 as never })).toStrictEqual(["retryBudget must be false or an object, got 3"])
  })

  it("layer throws InvalidRetryOptions when made from bad options", () => {
    expect(() => Coordinator.layer({ maxOrigins: -1 })).toThrow(StatusRetry.InvalidRetryOptions)
  })

  it("releaseSpread: held calls are let go at the instant plus their draw of the spread", async () => {
    const times = await run(
      Effect.gen(function*() {
        const c = yield* Coordinator.make({ cautiousStart: false, releaseSpread: "1 second" })
        yield* told(c, 429, { "retry-after": "1" })
        const fiber = yield* timed(c)
        yield* TestClock.adjust("3 seconds")
        return yield* Fiber.join(fiber)
      }),
      0.25
    )
    // 1 s, and a quarter of the spread.
    expect(times).toBe(1_250)
  })

  it("originTtl and maxOrigins bound what it remembers", async () => {
    const sizes = await run(Effect.gen(function*() {
      const c = yield* Coordinator.make({ cautiousStart: false, originTtl: "10 seconds", maxOrigins: 2 })
      yield* told(c, 200, {}, { url: "http://a.test/", attempt: "first" })
      yield* told(c, 200, {}, { url: "http://b.test/", attempt: "first" })
      yield* told(c, 200, {}, { url: "http://c.test/", attempt: "first" })
      const most = yield* c.size
      yield* TestClock.adjust("10001 millis")
      return [most, yield* c.size]
    }))
    expect(sizes).toStrictEqual([2, 0])
  })

  it("key: the user's key of a request partitions its origin", async () => {
    const result = await run(Effect.gen(function*() {
      const c = yield* Coordinator.make({
        cautiousStart: false,
        key: (request) => request.headers?.["x-api-key"] as string | undefined
      })
      const keyed = (key: string): Coordinator.RequestInfo => ({ ...info(), headers: { "x-api-key": key } })
      yield* told(c, 503, { "retry-after": "20" }, keyed("A"))
      const other = yield* c.withPermit(keyed("B"), () => Clock.currentTimeMillis)
      const same = yield* Effect.exit(c.withPermit({ ...keyed("A"), deadline: 10_000 }, () => Effect.void))
      return { other, same, size: yield* c.size }
    }))
    expect(result).toStrictEqual({
      other: 0,
      same: Exit.fail(new Coordinator.OriginHeld({ origin: O, until: 20_000, reason: "cooldown" })),
      size: 2
    })
  })
})

describe("Coordinator (Effect 4): waking held calls", () => {
  it("a call waiting for the first answer goes the instant it comes, not at a later look", async () => {
    const times = await run(Effect.gen(function*() {
      const c = yield* Coordinator.make({ releaseSpread: 0 })
      const opener = yield* Effect.forkChild(
        c.withPermit(
          info(),
          (permit) =>
            Effect.andThen(Effect.sleep("37 millis"), c.observe(permit, { status: 200, headers: {}, receivedAt: 37 }))
        )
      )
      yield* TestClock.adjust(0)
      const waiters = yield* Effect.forEach([1, 2, 3], () => timed(c))
      yield* TestClock.adjust(37)
      yield* Fiber.join(opener)
      return yield* Effect.forEach(waiters, Fiber.join)
    }))
    expect(times).toStrictEqual([37, 37, 37])
  })

  it("interrupting the first request lets a held call go at once; interrupting a held call gives up its place", async () => {
    const result = await run(Effect.gen(function*() {
      const c = yield* Coordinator.make({ releaseSpread: 0 })
      const opener = yield* Effect.forkChild(c.withPermit(info(), () => Effect.never))
      yield* TestClock.adjust(0)
      const gone = yield* timed(c)
      const waiter = yield* timed(c)
      yield* TestClock.adjust(12)
      yield* Fiber.interrupt(gone)
      yield* Fiber.interrupt(opener)
      yield* TestClock.adjust(0)
      return yield* Fiber.join(waiter)
    }))
    expect(result).toBe(12)
  })
})

describe("Coordinator (Effect 4): time", () => {
  it("holds run on the monotonic clock: a wall clock set forward or back moves none (until reads the wall)", async () => {
    const result = await run(Effect.gen(function*() {
      // The TestClock, its wall-clock reading moved by `step` (a clock set by NTP); its monotonic reading is not.
      const test = yield* Clock.Clock
      const step = { millis: 0 }
      const stepped: Clock.Clock = {
        currentTimeMillisUnsafe: () => test.currentTimeMillisUnsafe() + step.millis,
        currentTimeMillis: Effect.sync(() => test.currentTimeMillisUnsafe() + step.millis),
        currentTimeNanosUnsafe: () => test.currentTimeNanosUnsafe() + BigInt(step.millis * 1_000_000),
        currentTimeNanos: Effect.sync(() => test.currentTimeNanosUnsafe() + BigInt(step.millis * 1_000_000)),
        monotonicTimeNanosUnsafe: () => test.monotonicTimeNanosUnsafe(),
        monotonicTimeNanos: test.monotonicTimeNanos,
        sleep: (duration) => test.sleep(duration)
      }
      const adjust = (millis: number) => Effect.provideService(TestClock.adjust(millis), Clock.Clock, test)
      const c = yield* Coordinator.make({ cautiousStart: false, releaseSpread: 0 })
      const sentAt = c.withPermit(info(), () => Effect.sync(() => test.currentTimeMillisUnsafe()))
      const hintOf = (seconds: string, receivedAt: number) =>
        c.withPermit(info(), (permit) =>
          Effect.map(
            c.observe(permit, { status: 503, headers: { "retry-after": seconds }, receivedAt }),
            () => permit.hintAt
          ))
      return yield* Effect.gen(function*() {
        const first = yield* hintOf("10", 0)
        // A second later the wall clock is set 8 s forward: it reads 9_000. The hold still lasts its 10 s.
        yield* adjust(1_000)
        step.millis = 8_000
        const held = yield* Effect.forkChild(sentAt)
        yield* adjust(1_000)
        const early = held.pollUnsafe()
        // A call whose deadline (on the wall clock) comes first fails at once, saying when on the wall clock the hold
        // ends: 10 s after the 503, 18_000 by the clock set forward.
        const exit = yield* Effect.exit(c.withPermit({ ...info(), deadline: 12_000 }, () => Effect.void))
        yield* adjust(8_000)
        const released = yield* Fiber.join(held)
        // Set back 12 s (the wall reads 6_000 at 10_000): a new hint of 2 s holds for 2 s, not 14.
        step.millis = -4_000
        const second = yield* hintOf("2", 6_000)
        const after = yield* Effect.forkChild(sentAt)
        yield* adjust(2_000)
        return { first, early, exit, released, second, after: yield* Fiber.join(after) }
      }).pipe(Effect.provideService(Clock.Clock, stepped))
    }))
    expect(result).toStrictEqual({
      first: 10_000,
      early: undefined,
      exit: Exit.fail(new Coordinator.OriginHeld({ origin: O, until: 18_000, reason: "cooldown" })),
      released: 10_000,
      second: 8_000,
      after: 12_000
    })
  })
})

describe("Coordinator (Effect 4): visibility", () => {
  it("holds{reason} counts each held call once, releases each release, refusals each refused retry", async () => {
    const counts = await run(
      Effect.gen(function*() {
        const c = yield* Coordinator.make({ cautiousStart: false, releaseSpread: 0 })
        yield* told(c, 429, { "retry-after": "2" })
        const five = yield* Effect.forEach([1, 2, 3, 4, 5], () => timed(c))
        yield* TestClock.adjust(0)
        const held = yield* count(Metric.withAttributes(Coordinator.holds, { reason: "cooldown" }))
        const before = yield* count(Coordinator.releases)
        yield* TestClock.adjust(2_000)
        const times = yield* Effect.forEach(five, Fiber.join)
        // 30 answers of a dead route: a retry is refused (every draw is 0, under 30/31).
        yield* Effect.forEach(Array.from({ length: 30 }), () => told(c, 500, {}, info("/dead")))
        const refused = yield* Effect.exit(c.withPermit(info("/dead", "retry"), () => Effect.void))
        return {
          held,
          before,
          times,
          releases: yield* count(Coordinator.releases),
          refused,
          refusals: yield* count(Coordinator.refusals)
        }
      }),
      0
    )
    expect(counts).toStrictEqual({
      held: 5,
      before: 0,
      times: [2_000, 2_000, 2_000, 2_000, 2_000],
      releases: 5,
      refused: Exit.fail(new Coordinator.OriginHeld({ origin: O, until: 2_000, reason: "retry-budget" })),
      refusals: 1
    })
  })

  it("logs each hold at debug level with the origin, never the URL's password, path or query", async () => {
    const logs: Array<{ level: string; message: unknown; annotations: Record<string, unknown> }> = []
    const logger = Logger.make(({ fiber, logLevel, message }) => {
      logs.push({
        level: logLevel,
        message: Array.isArray(message) ? message[0] : message,
        annotations: { ...fiber.getRef(References.CurrentLogAnnotations) }
      })
    })
    await run(
      Effect.gen(function*() {
        const c = yield* Coordinator.make({ cautiousStart: false, releaseSpread: 0 })
        const secret = { url: "http://user:hunter2@api.test/x?token=SECRET", attempt: "first" } as const
        yield* told(c, 429, { "retry-after": "2" }, secret)
        const held = yield* Effect.forkChild(c.withPermit(secret, () => Effect.void))
        yield* TestClock.adjust(2_000)
        yield* Fiber.join(held)
        // A dead route: the retry is refused, and said so.
        yield* Effect.forEach(
          Array.from({ length: 30 }),
          () => told(c, 500, {}, { ...secret, url: `${secret.url}&p=1` })
        )
        yield* Effect.exit(c.withPermit({ ...secret, attempt: "retry" }, () => Effect.void))
      }).pipe(
        Effect.provide(Logger.layer([logger])),
        Effect.provideService(References.MinimumLogLevel, "Debug")
      ),
      0
    )
    expect(logs).toStrictEqual([
      {
        level: "Debug",
        message: "holding a request to http://api.test: cooldown",
        annotations: { origin: O, reason: "cooldown", until: "1970-01-01T00:00:02.000Z", ends: "at the instant" }
      },
      {
        level: "Debug",
        message: "a retry to http://api.test was refused by the retry budget",
        annotations: { origin: O }
      }
    ])
    expect(JSON.stringify(logs)).not.toMatch(/hunter2|SECRET|user/)
  })

  it("adds span events for holds and releases", async () => {
    const events = await run(
      Effect.gen(function*() {
        const c = yield* Coordinator.make({ cautiousStart: false, releaseSpread: 0 })
        yield* told(c, 503, { "retry-after": "1" })
        const fiber = yield* timed(c)
        yield* TestClock.adjust(1_000)
        yield* Fiber.join(fiber)
        const span = (yield* Effect.currentSpan) as unknown as {
          readonly events: ReadonlyArray<readonly [string, bigint, Record<string, unknown>]>
        }
        return span.events.map(([name, , attributes]) => [name, attributes])
      }).pipe(Effect.withSpan("test"))
    )
    expect(events).toStrictEqual([
      ["coordinator.hold", { "server.address": O, reason: "cooldown" }],
      ["coordinator.release", { "server.address": O }]
    ])
  })

  it("logs a held call again when it is held anew, for another reason or until another instant", async () => {
    const logs: Array<{ call: unknown; message: unknown; until: unknown; ends: unknown }> = []
    const logger = Logger.make(({ fiber, message }) => {
      const annotations = fiber.getRef(References.CurrentLogAnnotations)
      const text = Array.isArray(message) ? message[0] : message
      logs.push({ call: annotations.call, message: text, until: annotations.until, ends: annotations.ends })
    })
    const held = await run(
      Effect.gen(function*() {
        const c = yield* Coordinator.make({ releaseSpread: 0 })
        const opener = yield* Effect.forkChild(
          c.withPermit(info(), (permit) =>
            c.observe(permit, {
              status: 200,
              headers: { "x-ratelimit-limit": "5", "x-ratelimit-remaining": "0", "x-ratelimit-reset": "1" },
              receivedAt: 0
            }).pipe(Effect.delay("100 millis")))
        )
        yield* TestClock.adjust(0)
        const waiting = yield* Effect.forEach(
          [1, 2],
          (call) =>
            Effect.forkChild(Effect.annotateLogs(c.withPermit(info(), () => Clock.currentTimeMillis), "call", call))
        )
        yield* TestClock.adjust(0)
        // Both wait for the first answer (at most 5 s). It says the window is used up for a second: both are held
        // again, until the window's end.
        yield* TestClock.adjust(1_000)
        yield* Fiber.join(opener)
        return yield* Effect.forEach(waiting, Fiber.join)
      }).pipe(
        Effect.provide(Logger.layer([logger])),
        Effect.provideService(References.MinimumLogLevel, "Debug")
      )
    )
    expect(held).toStrictEqual([1_000, 1_000])
    // Each call's holds, in order: the first answer's wait, then the window's end; at the window's end one of them
    // goes first and the other is held anew until its answer (or the first request's patience, 5 s on).
    const of = (call: number) => logs.filter((log) => log.call === call).map(({ call: _, ...rest }) => rest)
    const learning = {
      message: "holding a request to http://api.test: learning",
      until: "1970-01-01T00:00:05.000Z",
      ends: "on an answer"
    }
    const pacing = {
      message: "holding a request to http://api.test: pacing",
      until: "1970-01-01T00:00:01.000Z",
      ends: "at the instant"
    }
    expect([of(1), of(2)]).toStrictEqual([
      [learning, pacing, { ...pacing, until: "1970-01-01T00:00:06.000Z", ends: "on an answer" }],
      [learning, pacing]
    ])
  })

  it("a reset past any date: a call with a deadline fails at once, saying so; one without is held, not killed", async () => {
    const result = await run(Effect.gen(function*() {
      const c = yield* Coordinator.make({ cautiousStart: false })
      yield* told(c, 200, { ratelimit: "limit=100, remaining=0, reset=999999999999999" })
      const exit = yield* Effect.exit(c.withPermit({ ...info(), deadline: 10_000 }, () => Effect.void))
      const held = yield* Effect.forkChild(c.withPermit(info(), () => Effect.succeed("sent")))
      yield* TestClock.adjust("2 seconds")
      return { message: Exit.isFailure(exit) ? String(exit.cause) : "", open: held.pollUnsafe() === undefined }
    }))
    expect(result.message).toContain("held until +275760-09-13T00:00:00.000Z (pacing)")
    expect(result.open).toBe(true)
  })
})
