import { Coordinator, RetryPolicy } from "@effect-retry/core"
import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as fc from "effect/FastCheck"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import * as TestClock from "effect/TestClock"

const A = "http://a.test"
const B = "http://b.test"
const SEED = "effect-retry/coordinator"
/** The default `releaseSpread`, in ms. */
const SPREAD = 20

/** Runs a test under the seeded Random every expectation below is computed from. */
const seeded = <X, E, R>(self: Effect.Effect<X, E, R>): Effect.Effect<X, E, R> =>
  Effect.withRandom(self, Random.make(SEED))

/** The first `n` draws of `Random.make(SEED)`: one per held call, in the order the calls are held. */
const draws = (n: number): ReadonlyArray<number> =>
  Effect.runSync(Effect.withRandom(Effect.replicateEffect(Random.next, n), Random.make(SEED)))

/** What a sleep of `ms` moves the TestClock by: a Duration keeps whole nanoseconds. */
const slept = (ms: number) => Duration.toMillis(Duration.millis(ms))

/** When a call held at `now` until `until` is released, given its draw `r`. */
const releasedAt = (now: number, until: number, r: number, spread = SPREAD) =>
  now + slept(Math.ceil(Math.max(0, until - now) + r * spread))

/** Lets every fiber run until it waits on the clock or on another fiber. */
const settle = TestClock.adjust(0)

const sorted = (xs: ReadonlyArray<number | undefined>): Array<number> =>
  xs.filter((x): x is number => x !== undefined).sort((a, b) => a - b)

const admittedCount = (xs: ReadonlyArray<number | undefined>) => xs.filter((x) => x !== undefined).length

interface Calls {
  /** When each call was admitted (clock ms), undefined while it waits. */
  readonly times: ReadonlyArray<number | undefined>
  readonly permits: ReadonlyArray<Coordinator.Permit | undefined>
  readonly fibers: ReadonlyArray<Fiber.RuntimeFiber<Coordinator.Permit, Coordinator.OriginHeld>>
}

/** Forks `n` calls to `admit(origin, first)`, in order, each recording when it was admitted. */
const calls = (coordinator: Coordinator.Coordinator, origin: string, n: number, first = true) =>
  Effect.gen(function*() {
    const times: Array<number | undefined> = Array.from({ length: n }, () => undefined)
    const permits: Array<Coordinator.Permit | undefined> = Array.from({ length: n }, () => undefined)
    const fibers = yield* Effect.forEach(
      Array.from({ length: n }, (_, i) => i),
      (i) =>
        Effect.fork(
          Effect.tap(coordinator.admit(origin, first), (permit) =>
            Effect.map(Clock.currentTimeMillis, (now) => {
              times[i] = now
              permits[i] = permit
            }))
        )
    )
    yield* settle
    const calls: Calls = { times, permits, fibers }
    return calls
  })

const ok = (receivedAt: number, headers: Coordinator.Observed["headers"] = {}): Coordinator.Observed => ({
  status: 200,
  headers,
  receivedAt
})

/** Sends one request first (cautious start lets it go at once) and observes `response` for it. */
const learn = (coordinator: Coordinator.Coordinator, origin: string, response: Coordinator.Observed) =>
  Effect.flatMap(coordinator.admit(origin, true), (permit) => coordinator.observe(permit, response))

/**
 * Where calls held by a full quota are released, as documented: each held call wakes at the window's end plus its
 * draw times the spread; the first `limit` to wake in a window go, the others are held again until the next window
 * (with a new draw each). Windows of `window` ms, the first ending at `windowEnd`; `start` is when they were held.
 */
const paced = (
  held: number,
  start: number,
  windowEnd: number,
  limit: number,
  window: number,
  rs: ReadonlyArray<number>
): Array<number> => {
  let next = 0
  const draw = () => {
    const r = rs[next++]
    if (r === undefined) throw new Error("not enough draws")
    return r
  }
  let end = windowEnd
  let allowance = 0
  let pending = Array.from({ length: held }, () => releasedAt(start, end, draw()))
  const admitted: Array<number> = []
  while (pending.length > 0) {
    pending.sort((a, b) => a - b)
    const [t, ...rest] = pending as [number, ...Array<number>]
    pending = rest
    if (t >= end) {
      end += window
      allowance = limit
    }
    if (allowance > 0) {
      allowance--
      admitted.push(t)
    } else {
      pending.push(releasedAt(t, end, draw()))
    }
  }
  return admitted
}

let metricsRun = 0
/** Tags every metric updated and read by `self` with a label of its own, so tests running alongside don't count. */
const isolatedMetrics = <X, E, R>(self: Effect.Effect<X, E, R>): Effect.Effect<X, E, R> =>
  Effect.tagMetrics(self, "coordinator_test_run", String(++metricsRun))

const count = (metric: Metric.Metric.Counter<number>) => Effect.map(Metric.value(metric), (state) => state.count)
const held = (reason: "cooldown" | "pacing" | "learning") => count(Metric.tagged(Coordinator.holds, "reason", reason))

describe("Coordinator", () => {
  describe("shared cooldown", () => {
    it.effect("a 429 with Retry-After: 2 holds a fresh call until 2000 ms and releases it within the spread", () =>
      seeded(Effect.gen(function*() {
        const c = yield* Coordinator.make()
        yield* learn(c, A, { status: 429, headers: { "retry-after": "2" }, receivedAt: 0 })
        const [r] = draws(1) as [number]
        const call = yield* calls(c, A, 1)
        yield* TestClock.adjust(1999)
        expect(call.times).toStrictEqual([undefined])
        yield* TestClock.adjust(SPREAD + 1)
        expect(call.times).toStrictEqual([releasedAt(0, 2000, r)])
        expect(call.times[0]).toBeGreaterThanOrEqual(2000)
        expect(call.times[0]).toBeLessThanOrEqual(2000 + SPREAD)
      })))

    it.effect("releases five held calls at distinct instants spread over [2000, 2000 + the release spread], not all at 2000", () =>
      seeded(Effect.gen(function*() {
        const c = yield* Coordinator.make()
        yield* learn(c, A, { status: 429, headers: { "retry-after": "2" }, receivedAt: 0 })
        const expected = draws(5).map((r) => releasedAt(0, 2000, r))
        const five = yield* calls(c, A, 5)
        yield* TestClock.adjust(1999)
        expect(admittedCount(five.times)).toBe(0)
        yield* TestClock.adjust(SPREAD + 1)
        expect(five.times).toStrictEqual(expected)
        expect(new Set(five.times).size).toBe(5)
        for (const t of five.times) {
          expect(t).toBeGreaterThanOrEqual(2000)
          expect(t).toBeLessThanOrEqual(2000 + SPREAD)
        }
        expect(five.times.every((t) => t === 2000)).toBe(false)
      })))

    it.effect("holds retries as well as fresh requests", () =>
      seeded(Effect.gen(function*() {
        const c = yield* Coordinator.make()
        yield* learn(c, A, { status: 429, headers: { "retry-after": "2" }, receivedAt: 0 })
        const expected = draws(2).map((r) => releasedAt(0, 2000, r))
        const fresh = yield* calls(c, A, 1, true)
        const retry = yield* calls(c, A, 1, false)
        yield* TestClock.adjust(1999)
        expect([...fresh.times, ...retry.times]).toStrictEqual([undefined, undefined])
        yield* TestClock.adjust(SPREAD + 1)
        expect([...fresh.times, ...retry.times]).toStrictEqual(expected)
      })))

    it.effect("a 503 with an HTTP-date Retry-After holds until that date, read against the Date header", () =>
      seeded(Effect.gen(function*() {
        const t0 = Date.UTC(2025, 0, 15, 12, 0, 0)
        yield* TestClock.setTime(t0)
        const c = yield* Coordinator.make()
        // The server's clock is 5 s behind ours: the delay is Retry-After minus Date, 3 s, from when it arrived.
        const serverNow = t0 - 5000
        yield* learn(c, A, {
          status: 503,
          headers: {
            "date": new Date(serverNow).toUTCString(),
            "retry-after": new Date(serverNow + 3000).toUTCString()
          },
          receivedAt: t0
        })
        const expected = draws(5).map((r) => releasedAt(t0, t0 + 3000, r))
        const five = yield* calls(c, A, 5)
        yield* TestClock.adjust(2999)
        expect(admittedCount(five.times)).toBe(0)
        yield* TestClock.adjust(SPREAD + 1)
        expect(five.times).toStrictEqual(expected)
        expect(new Set(five.times).size).toBe(5)
        for (const t of five.times) {
          expect(t).toBeGreaterThanOrEqual(t0 + 3000)
          expect(t).toBeLessThanOrEqual(t0 + 3000 + SPREAD)
        }
      })))

    it.effect("a 500 without a hint does not hold, nor does a 500 with Retry-After (only 429 and 503 hints do)", () =>
      seeded(Effect.gen(function*() {
        const c = yield* Coordinator.make()
        yield* learn(c, A, { status: 500, headers: {}, receivedAt: 0 })
        const afterPlain = yield* calls(c, A, 3)
        expect(afterPlain.times).toStrictEqual([0, 0, 0])

        yield* learn(c, B, { status: 500, headers: { "retry-after": "30" }, receivedAt: 0 })
        const afterHinted = yield* calls(c, B, 3)
        expect(afterHinted.times).toStrictEqual([0, 0, 0])
      })))

    it.effect("a later, longer hint extends the cooldown; a shorter one does not shorten it", () =>
      seeded(Effect.gen(function*() {
        const c = yield* Coordinator.make({ cautiousStart: false })
        const [p1, p2, p3] = [yield* c.admit(A, true), yield* c.admit(A, true), yield* c.admit(A, true)]
        yield* c.observe(p1, { status: 429, headers: { "retry-after": "2" }, receivedAt: 0 })
        yield* c.observe(p2, { status: 503, headers: { "retry-after": "5" }, receivedAt: 0 })
        yield* c.observe(p3, { status: 429, headers: { "retry-after": "1" }, receivedAt: 0 })
        const [r] = draws(1) as [number]
        const call = yield* calls(c, A, 1)
        yield* TestClock.adjust(4999)
        expect(call.times).toStrictEqual([undefined])
        yield* TestClock.adjust(SPREAD + 1)
        expect(call.times).toStrictEqual([releasedAt(0, 5000, r)])
      })))

    it.effect("a 503 Retry-After answering a request of an earlier window still holds the origin", () =>
      // Docs: "a 429 or 503 hint holds it until its instant". With a known limit, the request admitted at 0 (window
      // [0, 1000)) answered at 1500 by a 503 "come back in 10 s" must hold calls until 11 500.
      seeded(Effect.gen(function*() {
        const c = yield* Coordinator.make({ limits: { [A]: { requests: 3, window: "1 second" } } })
        const slow = yield* c.admit(A, true)
        yield* TestClock.setTime(1500)
        yield* c.observe(slow, { status: 503, headers: { "retry-after": "10" }, receivedAt: 1500 })
        const [r] = draws(1) as [number]
        const call = yield* calls(c, A, 1)
        expect(call.times).toStrictEqual([undefined])
        yield* TestClock.adjust(10_000 + SPREAD)
        expect(call.times).toStrictEqual([releasedAt(1500, 11_500, r)])
      })))
  })

  describe("cautious start", () => {
    it.effect("lets the first call go at once and holds the others until its answer, or for five seconds", () =>
      seeded(Effect.gen(function*() {
        const c = yield* Coordinator.make()
        const rs = draws(3)
        const first = yield* calls(c, A, 1)
        expect(first.times).toStrictEqual([0])
        const rest = yield* calls(c, A, 3)
        yield* TestClock.adjust(4_999)
        expect(rest.times).toStrictEqual([undefined, undefined, undefined])
        yield* TestClock.adjust(5_001)
        // No answer within five seconds: the first waiter to wake goes to learn instead; the others wait on.
        const wakes = rs.map((r) => releasedAt(0, 5_000, r))
        expect(sorted(rest.times)).toStrictEqual([Math.min(...wakes)])
        yield* c.observe(first.permits[0]!, ok(10_000))
        yield* settle
        expect(sorted(rest.times)).toStrictEqual([Math.min(...wakes), 10_000, 10_000])
        // Learned: later calls go at once.
        const later = yield* calls(c, A, 2)
        expect(later.times).toStrictEqual([10_000, 10_000])
      })))

    it.effect("when the first call gets no answer (release), the next waiter goes, and only it", () =>
      seeded(Effect.gen(function*() {
        const c = yield* Coordinator.make()
        const first = yield* calls(c, A, 1)
        const rest = yield* calls(c, A, 3)
        yield* TestClock.adjust(500)
        expect(admittedCount(rest.times)).toBe(0)
        yield* c.release(first.permits[0]!)
        yield* settle
        expect(rest.times).toStrictEqual([500, undefined, undefined])
        yield* TestClock.adjust(500)
        expect(rest.times).toStrictEqual([500, undefined, undefined])
        yield* c.release(rest.permits[0]!)
        yield* settle
        expect(rest.times).toStrictEqual([500, 1000, undefined])
        yield* c.observe(rest.permits[1]!, ok(1000))
        yield* settle
        expect(rest.times).toStrictEqual([500, 1000, 1000])
      })))

    it.effect("cautiousStart: false admits every call at once", () =>
      seeded(Effect.gen(function*() {
        const c = yield* Coordinator.make({ cautiousStart: false })
        const all = yield* calls(c, A, 5)
        expect(all.times).toStrictEqual([0, 0, 0, 0, 0])
      })))

    it.effect("a first answer that says the quota is spent holds the waiters until the reset", () =>
      seeded(Effect.gen(function*() {
        const c = yield* Coordinator.make()
        const first = yield* calls(c, A, 1)
        const rest = yield* calls(c, A, 2)
        yield* TestClock.adjust(100)
        yield* c.observe(first.permits[0]!, {
          status: 429,
          headers: { "x-ratelimit-limit": "10", "x-ratelimit-remaining": "0", "x-ratelimit-reset": "2" },
          receivedAt: 100
        })
        // Held for the first answer (one draw each), then woken by it at 100, both are held again by the cooldown
        // until 2100, each with its next draw.
        const expected = draws(4).slice(2).map((r) => releasedAt(100, 2100, r))
        yield* settle
        expect(rest.times).toStrictEqual([undefined, undefined])
        yield* TestClock.adjust(1999)
        expect(rest.times).toStrictEqual([undefined, undefined])
        yield* TestClock.adjust(SPREAD + 1)
        expect(rest.times).toStrictEqual(expected)
      })))
  })

  describe("pacing", () => {
    const xRateLimit = { "x-ratelimit-limit": "10", "x-ratelimit-remaining": "9", "x-ratelimit-reset": "1" }

    it.effect("X-RateLimit 10/9/1: 9 more before 1000, the 11th waits for the reset, then 10 in the next window", () =>
      seeded(Effect.gen(function*() {
        const c = yield* Coordinator.make()
        yield* learn(c, A, ok(0, xRateLimit))
        const rs = draws(11)
        const all = yield* calls(c, A, 20)
        expect(all.times.slice(0, 9)).toStrictEqual(Array.from({ length: 9 }, () => 0))
        expect(all.times.slice(9)).toStrictEqual(Array.from({ length: 11 }, () => undefined))
        yield* TestClock.adjust(999)
        expect(admittedCount(all.times)).toBe(9)
        yield* TestClock.adjust(SPREAD + 1)
        // The 11 held calls wake at 1000 + r * 50; the first 10 to wake fill the new window.
        const wakes = rs.map((r) => releasedAt(0, 1000, r))
        const firstTen = [...wakes].sort((a, b) => a - b).slice(0, 10)
        expect(sorted(all.times.slice(9))).toStrictEqual(firstTen)
        for (const t of firstTen) {
          expect(t).toBeGreaterThanOrEqual(1000)
          expect(t).toBeLessThanOrEqual(1000 + SPREAD)
        }
        // The 21st call waits: the window's 10 are spent.
        yield* TestClock.adjust(1999 - 1000 - SPREAD - 1)
        expect(admittedCount(all.times)).toBe(19)
      })))

    it.effect("X-RateLimit: an 11th request of the window waits however many are queued", () =>
      seeded(Effect.gen(function*() {
        const c = yield* Coordinator.make()
        yield* learn(c, A, ok(0, xRateLimit))
        const nine = yield* calls(c, A, 9)
        expect(nine.times).toStrictEqual(Array.from({ length: 9 }, () => 0))
        const [r] = draws(1) as [number]
        const eleventh = yield* calls(c, A, 1)
        yield* TestClock.adjust(999)
        expect(eleventh.times).toStrictEqual([undefined])
        yield* TestClock.adjust(SPREAD + 1)
        expect(eleventh.times).toStrictEqual([releasedAt(0, 1000, r)])
      })))

    it.effect("X-RateLimit: keeps admitting when the next window's answers carry no rate-limit headers", () =>
      // The window length is unknown (X-RateLimit-* tell none). Once the second window's 10 are spent and their
      // answers say nothing of the budget, held calls must still go some time (here: within a minute), not never.
      seeded(Effect.gen(function*() {
        const c = yield* Coordinator.make()
        yield* learn(c, A, ok(0, xRateLimit))
        const all = yield* calls(c, A, 30)
        const answered = new Set<number>()
        for (let second = 0; second < 60; second++) {
          // Every admitted request gets a plain answer, without rate-limit headers, before the next second.
          yield* TestClock.adjust(SPREAD + 1)
          const now = yield* Clock.currentTimeMillis
          for (const [i, permit] of all.permits.entries()) {
            if (permit !== undefined && !answered.has(i)) {
              answered.add(i)
              yield* c.observe(permit, ok(now))
            }
          }
          yield* TestClock.adjust(1000 - SPREAD - 1)
        }
        expect(admittedCount(all.times)).toBe(30)
        expect(sorted(all.times).filter((t) => t < 1000)).toHaveLength(9)
        expect(sorted(all.times).filter((t) => t >= 1000 && t < 2000)).toHaveLength(10)
      })))

    it.effect("IETF RateLimit r=4;t=1 with RateLimit-Policy q=5;w=1: 4 more now, then 5 per window", () =>
      seeded(Effect.gen(function*() {
        const c = yield* Coordinator.make()
        yield* learn(
          c,
          A,
          ok(0, { "ratelimit": "\"default\";r=4;t=1", "ratelimit-policy": "\"default\";q=5;w=1" })
        )
        const all = yield* calls(c, A, 16)
        expect(all.times.slice(0, 4)).toStrictEqual([0, 0, 0, 0])
        expect(admittedCount(all.times)).toBe(4)
        yield* TestClock.adjust(999)
        expect(admittedCount(all.times)).toBe(4)
        yield* TestClock.adjust(3000)
        const expected = paced(12, 0, 1000, 5, 1000, draws(40))
        expect(sorted(all.times.slice(4))).toStrictEqual(expected)
        const inWindow = (k: number) => expected.filter((t) => t >= k * 1000 && t <= k * 1000 + SPREAD).length
        expect([inWindow(1), inWindow(2), inWindow(3)]).toStrictEqual([5, 5, 2])
      })))

    it.effect("a configured limit of 3 per second paces from the first request, with no answer at all", () =>
      seeded(Effect.gen(function*() {
        const c = yield* Coordinator.make({ limits: { [A]: { requests: 3, window: "1 second" } } })
        const all = yield* calls(c, A, 10)
        expect(all.times.slice(0, 3)).toStrictEqual([0, 0, 0])
        expect(admittedCount(all.times)).toBe(3)
        yield* TestClock.adjust(999)
        expect(admittedCount(all.times)).toBe(3)
        yield* TestClock.adjust(1)
        expect(admittedCount(all.times)).toBe(3)
        yield* TestClock.adjust(3000)
        const expected = paced(7, 0, 1000, 3, 1000, draws(40))
        expect(sorted(all.times.slice(3))).toStrictEqual(expected)
        const inWindow = (k: number) => expected.filter((t) => t >= k * 1000 && t <= k * 1000 + SPREAD).length
        expect([inWindow(1), inWindow(2), inWindow(3)]).toStrictEqual([3, 3, 1])
      })))

    it.effect("a configured limit keys on the origin of the URL it is given", () =>
      seeded(Effect.gen(function*() {
        const c = yield* Coordinator.make({ limits: { "http://a.test/some/path?q=1": { requests: 2, window: 1000 } } })
        const all = yield* calls(c, A, 3)
        expect(all.times).toStrictEqual([0, 0, undefined])
      })))
  })

  describe("originOf", () => {
    it("gives what new URL(...).origin gives", () => {
      const urls = [
        "http://127.0.0.1:8080/x",
        "https://API.example.com:443/a?b",
        "http://a.test",
        "https://a.test:8443#f",
        "http://[::1]:3000/x",
        "https://user:pw@a.test/x",
        "HTTP://A.TEST/",
        "http://a.test:80/",
        "https://a.test:443",
        "http://a.test:0099/",
        "ftp://x/y"
      ]
      for (const url of urls) expect(Coordinator.originOf(url)).toBe(new URL(url).origin)
      expect(Coordinator.originOf("not a url")).toBe("not a url")
    })

    it("a URL that starts like the last origin found is still read whole", () => {
      // The same origin as the last call is answered from memory: only when the authority really ends there.
      const sequence = [
        "https://a.test/x",
        "https://a.test/y?z",
        "https://a.test:443/y",
        "https://a.test:8443/y",
        "https://a.test.evil/",
        "https://a.test@b.test/",
        "https://a.test\\b.test/",
        "https://a.test",
        "file:///etc/hosts",
        "null/x",
        "http://a.test/",
        "https://a.test/"
      ]
      expect(sequence.map(Coordinator.originOf)).toStrictEqual(sequence.map(reference))
    })

    /** What the parser says: the origin, or the input when it is not a URL. */
    const reference = (url: string) => {
      try {
        return new URL(url).origin
      } catch {
        return url
      }
    }
    const label = fc.stringMatching(/^[a-zA-Z0-9-]{0,6}$/)
    const host = fc.oneof(
      fc.array(label, { minLength: 1, maxLength: 4 }).map((labels) => labels.join(".")),
      fc.array(fc.oneof(fc.nat(300).map(String), fc.constantFrom("00", "010", "0x7f", "1a", "")), {
        minLength: 1,
        maxLength: 5
      }).map((parts) => parts.join(".")),
      fc.constantFrom("[::1]", "[0:0:0:0:0:0:0:1]", "[::ffff:1.2.3.4]", "[]", "xn--a", "xn--nxasmq6b", "a.test.", "1.2.3.4.")
    )
    const port = fc.oneof(
      fc.constant(""),
      fc.constantFrom(":", ":0", ":00", ":08", ":80", ":443", ":65535", ":65536", ":123456"),
      fc.nat(70_000).map((n) => `:${n}`)
    )
    const rest = fc.constantFrom("", "/", "/x?y", "?q", "#f", "\\x", " x", "\tx", "@y/", ":x", "%41")
    const scheme = fc.constantFrom("http://", "https://", "HTTP://", "https://user:pw@", "ftp://", "http:/", "")

    it.prop(
      "gives what the URL parser gives, for any URL",
      [fc.tuple(scheme, host, port, rest).map((parts) => parts.join(""))],
      ([url]) => {
        expect(Coordinator.originOf(url)).toBe(reference(url))
      },
      { fastCheck: { numRuns: 5_000 } }
    )
  })

  describe("which answers it asks for", () => {
    it.effect("every answer while learning or pacing; one success in 16 from an origin without rate-limit headers", () =>
      Effect.gen(function*() {
        const c = yield* Coordinator.make()
        const probe = yield* c.admit(A, true)
        expect([probe.probe, probe.learn]).toStrictEqual([true, true])
        yield* c.observe(probe, ok(0))
        const learns: Array<boolean> = []
        for (let i = 0; i < 32; i++) learns.push((yield* c.admit(A, true)).learn)
        expect(learns.filter(Boolean).length).toBe(2)
        // Once the server speaks of its quota, every answer counts.
        const next = yield* c.admit(A, true)
        yield* c.observe(next, ok(0, { "x-ratelimit-remaining": "50", "x-ratelimit-reset": "10" }))
        for (let i = 0; i < 5; i++) expect((yield* c.admit(A, true)).learn).toBe(true)
      }))
  })

  describe("window length", () => {
    const quota = (limit: number, remaining: number, reset: number) => ({
      "x-ratelimit-limit": String(limit),
      "x-ratelimit-remaining": String(remaining),
      "x-ratelimit-reset": String(reset)
    })
    const admitN = (c: Coordinator.Coordinator, n: number, now: number) =>
      Array.from({ length: n }, () => c.unsafeAdmit(A, true, now)).every((p) => p !== undefined)

    it.effect("news told as a window opens gives its length: later windows open on time, however late it came", () =>
      Effect.gen(function*() {
        // The second window opens at 1000. Its first answer says 1 s to the reset (rounded up): windows are 1 s, and
        // this one opened at 1000, so it ends at 2000, whether that answer came at 1010 or, from a busy event loop,
        // at 1200. Later windows open on time without news.
        for (const [sentAt, answeredAt] of [[1_000, 1_010], [1_190, 1_200]] as const) {
          const c = yield* Coordinator.make({ releaseSpread: 0 })
          yield* learn(c, A, ok(0, quota(10, 9, 1)))
          expect(admitN(c, 9, 0)).toBe(true)
          expect(c.unsafeAdmit(A, true, 999)).toBeUndefined()
          const opener = c.unsafeAdmit(A, true, sentAt)!
          yield* c.observe(opener, ok(answeredAt, quota(10, 9, 1)))
          expect(admitN(c, 9, answeredAt)).toBe(true)
          expect(c.unsafeAdmit(A, true, 1_999)).toBeUndefined()
          // No answer at all in the third window: it opens at 2000 all the same, and the fourth at 3000.
          expect(admitN(c, 10, 2_000)).toBe(true)
          expect(c.unsafeAdmit(A, true, 2_999)).toBeUndefined()
          expect(c.unsafeAdmit(A, true, 3_000)).toBeDefined()
        }
      }))

    it.effect("news that the window is already over teaches no length", () =>
      Effect.gen(function*() {
        const c = yield* Coordinator.make({ releaseSpread: 0 })
        yield* learn(c, A, ok(0, quota(2, 1, 1)))
        expect(c.unsafeAdmit(A, true, 0)).toBeDefined()
        // A reset of 0 at the opening of the next window: no length of 0 is learned (every window would be over).
        const opener = c.unsafeAdmit(A, true, 1_000)!
        yield* c.observe(opener, ok(1_010, quota(2, 1, 0)))
        // Told 0 s to the reset: the window is over at once, and its quota of 2 is back.
        expect(c.unsafeAdmit(A, true, 1_010)).toBeDefined()
        expect(c.unsafeAdmit(A, true, 1_010)).toBeDefined()
        expect(c.unsafeAdmit(A, true, 1_010)).toBeUndefined()
      }))
  })

  describe("unsafeAdmit", () => {
    it.effect("gives the permit admit would give now, or undefined when the call would be held", () =>
      Effect.gen(function*() {
        const c = yield* Coordinator.make()
        const probe = c.unsafeAdmit(A, true, 0)
        expect(probe?.probe).toBe(true)
        // Learning: the others would wait for the first answer.
        expect(c.unsafeAdmit(A, true, 0)).toBeUndefined()
        yield* c.observe(probe!, { status: 429, headers: { "retry-after": "2" }, receivedAt: 0 })
        expect(c.unsafeAdmit(A, true, 1_999)).toBeUndefined()
        expect(c.unsafeAdmit(A, true, 2_000)?.origin).toBe(A)
      }))
  })

  describe("deadlines and lost permits", () => {
    it.effect("a hold that would end past the call's deadline fails at once with OriginHeld, carrying the instant", () =>
      seeded(Effect.gen(function*() {
        const c = yield* Coordinator.make()
        const first = yield* c.admit(A, true)
        yield* c.observe(first, { status: 503, headers: { "retry-after": "3600" }, receivedAt: 0 })
        // A call whose budget ends at 30 s cannot wait an hour: it fails now, not in an hour.
        const error = yield* Effect.flip(c.admit(A, true, 30_000))
        expect(error._tag).toBe("OriginHeld")
        expect(error.until).toBe(3_600_000)
        expect(error.reason).toBe("cooldown")
        expect(yield* Clock.currentTimeMillis).toBe(0)
        // A call with time enough waits it out.
        const patient = yield* calls(c, A, 1)
        yield* TestClock.adjust(3_600_000 + SPREAD)
        expect(admittedCount(patient.times)).toBe(1)
      })))

    it.effect("a hint beyond what a timer holds never turns into an endless sleep", () =>
      seeded(Effect.gen(function*() {
        const c = yield* Coordinator.make()
        const first = yield* c.admit(A, true)
        yield* c.observe(first, { status: 429, headers: { "retry-after": "99999999999" }, receivedAt: 0 })
        const error = yield* Effect.flip(c.admit(A, true, 30_000))
        expect(error.reason).toBe("cooldown")
        expect(error.until).toBe(99_999_999_999_000)
      })))

    it.effect("a permit never handed back holds a spent window of unknown length for five seconds at most", () =>
      seeded(Effect.gen(function*() {
        const c = yield* Coordinator.make()
        // The server said 1 left, reset in 1 s; after that window the quota is known (limit 2) but not the length.
        yield* learn(c, A, ok(0, { "x-ratelimit-remaining": "1", "x-ratelimit-reset": "1" }))
        yield* TestClock.adjust(1_100)
        const lost = yield* c.admit(A, true) // never observed nor released: an interrupted call
        const answered = yield* c.admit(A, true)
        yield* c.observe(answered, { status: 502, headers: {}, receivedAt: 1_100 })
        expect(lost.generation).toBe(answered.generation)
        const next = yield* calls(c, A, 1)
        yield* TestClock.adjust(4_000)
        expect(next.times).toStrictEqual([undefined])
        // Five seconds after the last request went, one is let go to learn the next window.
        yield* TestClock.adjust(1_000 + SPREAD)
        expect(admittedCount(next.times)).toBe(1)
      })))
  })

  describe("retry budget", () => {
    it.effect("allows 3 + 0.1 x 40 = 7 retries, then refuses; refills to the floor of 3 after 10 s", () =>
      seeded(Effect.gen(function*() {
        const c = yield* Coordinator.make({ cautiousStart: false })
        const firsts = yield* calls(c, A, 40, true)
        expect(admittedCount(firsts.times)).toBe(40)
        const answers = yield* Effect.replicateEffect(c.allowRetry(A), 9)
        expect(answers).toStrictEqual([true, true, true, true, true, true, true, false, false])
        yield* TestClock.adjust(9_999)
        expect(yield* c.allowRetry(A)).toBe(false)
        yield* TestClock.adjust(1)
        const refilled = yield* Effect.replicateEffect(c.allowRetry(A), 4)
        expect(refilled).toStrictEqual([true, true, true, false])
      })))

    it.effect("retries admitted do not count as first attempts", () =>
      seeded(Effect.gen(function*() {
        const c = yield* Coordinator.make({ cautiousStart: false })
        yield* calls(c, A, 40, false)
        const answers = yield* Effect.replicateEffect(c.allowRetry(A), 4)
        expect(answers).toStrictEqual([true, true, true, false])
      })))

    it.effect("options: ratio 0.5, minRetries 1, window 1 s", () =>
      seeded(Effect.gen(function*() {
        const c = yield* Coordinator.make({
          cautiousStart: false,
          retryBudget: { ratio: 0.5, minRetries: 1, window: "1 second" }
        })
        yield* calls(c, A, 4, true)
        expect(yield* Effect.replicateEffect(c.allowRetry(A), 4)).toStrictEqual([true, true, true, false])
        yield* TestClock.adjust(1000)
        expect(yield* Effect.replicateEffect(c.allowRetry(A), 2)).toStrictEqual([true, false])
      })))

    it.effect("first attempts made after the window ended count in the new window", () =>
      // Window [0, 10 000): 1 first attempt. At 10 000 (a new window) 20 first attempts, then retries:
      // at most 3 + 0.1 x 20 = 5 of them.
      seeded(Effect.gen(function*() {
        const c = yield* Coordinator.make({ cautiousStart: false })
        yield* calls(c, A, 1, true)
        yield* TestClock.adjust(10_000)
        yield* calls(c, A, 20, true)
        const answers = yield* Effect.replicateEffect(c.allowRetry(A), 6)
        expect(answers).toStrictEqual([true, true, true, true, true, false])
      })))

    it.effect("retryBudget: false always allows", () =>
      seeded(Effect.gen(function*() {
        const c = yield* Coordinator.make({ retryBudget: false })
        const answers = yield* Effect.replicateEffect(c.allowRetry(A), 100)
        expect(answers.every((a) => a)).toBe(true)
        expect(answers).toHaveLength(100)
      })))

    it.effect("budgets are per origin", () =>
      seeded(Effect.gen(function*() {
        const c = yield* Coordinator.make({ cautiousStart: false })
        yield* Effect.replicateEffect(c.allowRetry(A), 3)
        expect(yield* c.allowRetry(A)).toBe(false)
        expect(yield* Effect.replicateEffect(c.allowRetry(B), 4)).toStrictEqual([true, true, true, false])
      })))
  })

  describe("isolation", () => {
    it.effect("an origin in cooldown does not delay calls to another origin", () =>
      seeded(Effect.gen(function*() {
        const c = yield* Coordinator.make({ cautiousStart: false })
        yield* learn(c, A, { status: 429, headers: { "retry-after": "60" }, receivedAt: 0 })
        const heldA = yield* calls(c, A, 3)
        const freeB = yield* calls(c, B, 3)
        expect(heldA.times).toStrictEqual([undefined, undefined, undefined])
        expect(freeB.times).toStrictEqual([0, 0, 0])
        yield* TestClock.adjust(10_000)
        const laterB = yield* calls(c, B, 2)
        expect(laterB.times).toStrictEqual([10_000, 10_000])
        expect(admittedCount(heldA.times)).toBe(0)
      })))

    it.effect("an origin learning its budget or out of quota does not hold another", () =>
      seeded(Effect.gen(function*() {
        const c = yield* Coordinator.make({ limits: { [B]: { requests: 1, window: "1 minute" } } })
        yield* calls(c, A, 1) // A's first request, out learning
        const heldA = yield* calls(c, A, 2)
        yield* calls(c, B, 1) // B's quota spent
        const heldB = yield* calls(c, B, 1)
        const other = yield* calls(c, "http://c.test", 1)
        expect(other.times).toStrictEqual([0])
        expect([...heldA.times, ...heldB.times]).toStrictEqual([undefined, undefined, undefined])
      })))
  })

  describe("interruption", () => {
    it.effect("interrupting a call held by a cooldown leaves no trace", () =>
      seeded(Effect.gen(function*() {
        const c = yield* Coordinator.make()
        yield* learn(c, A, { status: 429, headers: { "retry-after": "2" }, receivedAt: 0 })
        const victim = yield* calls(c, A, 1)
        yield* TestClock.adjust(1000)
        const exit = yield* Fiber.interrupt(victim.fibers[0]!)
        expect(Exit.isInterrupted(exit)).toBe(true)
        expect(victim.times).toStrictEqual([undefined])
        expect(yield* c.size).toBe(1)
        // The cooldown still holds a new call until 2000, which then goes within the spread.
        const [r] = draws(2).slice(1) as [number]
        const next = yield* calls(c, A, 1)
        yield* TestClock.adjust(999)
        expect(next.times).toStrictEqual([undefined])
        yield* TestClock.adjust(SPREAD + 1)
        expect(next.times).toStrictEqual([releasedAt(1000, 2000, r)])
        // Other origins are not affected.
        expect((yield* calls(c, B, 1)).times).toStrictEqual([2000 + SPREAD])
      })))

    it.effect("interrupting a call held while the first one learns leaves the others waiting, then admitted", () =>
      seeded(Effect.gen(function*() {
        const c = yield* Coordinator.make()
        const first = yield* calls(c, A, 1)
        const waiting = yield* calls(c, A, 3)
        yield* TestClock.adjust(300)
        const exit = yield* Fiber.interrupt(waiting.fibers[1]!)
        expect(Exit.isInterrupted(exit)).toBe(true)
        yield* TestClock.adjust(2000)
        expect(waiting.times).toStrictEqual([undefined, undefined, undefined])
        yield* c.observe(first.permits[0]!, ok(2300))
        yield* settle
        expect(waiting.times).toStrictEqual([2300, undefined, 2300])
        expect((yield* calls(c, A, 1)).times).toStrictEqual([2300])
      })))

    it.effect("interrupting a call held by an empty quota does not take a place of the next window", () =>
      seeded(Effect.gen(function*() {
        const c = yield* Coordinator.make({ limits: { [A]: { requests: 1, window: "1 second" } } })
        yield* calls(c, A, 1)
        const victim = yield* calls(c, A, 1)
        const exit = yield* Fiber.interrupt(victim.fibers[0]!)
        expect(Exit.isInterrupted(exit)).toBe(true)
        yield* TestClock.adjust(1000)
        // The next window's only place is free: a call at 1000 goes at once.
        const next = yield* calls(c, A, 2)
        expect(next.times).toStrictEqual([1000, undefined])
        expect(victim.times).toStrictEqual([undefined])
      })))

    it.effect("interrupting many held calls at once does not fail and keeps admitting", () =>
      seeded(Effect.gen(function*() {
        const c = yield* Coordinator.make()
        yield* learn(c, A, { status: 503, headers: { "retry-after": "1" }, receivedAt: 0 })
        const many = yield* calls(c, A, 50)
        const exit = yield* Effect.exit(Fiber.interruptAll(many.fibers))
        expect(Exit.isSuccess(exit)).toBe(true)
        for (const fiber of many.fibers) {
          expect(Exit.isInterrupted(Option.getOrThrow(yield* Fiber.poll(fiber)))).toBe(true)
        }
        yield* TestClock.adjust(1000 + SPREAD)
        const after = yield* calls(c, A, 3)
        expect(after.times).toStrictEqual([1000 + SPREAD, 1000 + SPREAD, 1000 + SPREAD])
      })))
  })

  describe("bounded memory", () => {
    it.effect("maxOrigins: 100 keeps at most 100 origins over 1000 distinct ones", () =>
      seeded(Effect.gen(function*() {
        const c = yield* Coordinator.make({ maxOrigins: 100 })
        let largest = 0
        for (let i = 0; i < 1000; i++) {
          yield* c.admit(`http://o${i}.test`, true)
          largest = Math.max(largest, yield* c.size)
        }
        expect(largest).toBe(100)
        expect(yield* c.size).toBe(100)
      })))

    it.effect("maxOrigins forgets the least recently used origin first", () =>
      seeded(Effect.gen(function*() {
        const c = yield* Coordinator.make({ maxOrigins: 2, cautiousStart: false })
        // A is in cooldown, B is not; A is touched again after B, so B is the least recently used.
        yield* learn(c, A, { status: 503, headers: { "retry-after": "60" }, receivedAt: 0 })
        yield* TestClock.adjust(1)
        yield* c.admit(B, true)
        yield* TestClock.adjust(1)
        yield* c.allowRetry(A)
        yield* TestClock.adjust(1)
        yield* c.admit("http://c.test", true)
        expect(yield* c.size).toBe(2)
        // A was kept: still in cooldown.
        const heldA = yield* calls(c, A, 1)
        expect(heldA.times).toStrictEqual([undefined])
      })))

    it.effect("maxOrigins: an origin used again is the last to be forgotten, whichever origin was used before it", () =>
      seeded(Effect.gen(function*() {
        // A's retry budget is spent: while A is remembered, its next retry is refused; a forgotten A starts afresh.
        const spent = (c: Coordinator.Coordinator) =>
          Effect.gen(function*() {
            yield* c.admit(A, true)
            for (let i = 0; i < 3; i++) expect(yield* c.allowRetry(A)).toBe(true)
          })
        const kept = yield* Coordinator.make({ maxOrigins: 2, cautiousStart: false })
        yield* spent(kept)
        yield* TestClock.adjust(1)
        yield* kept.admit(B, true)
        yield* TestClock.adjust(1)
        yield* kept.admit(A, false) // A used again: B is now the least recently used
        yield* TestClock.adjust(1)
        yield* kept.admit("http://c.test", true)
        expect(yield* kept.allowRetry(A)).toBe(false)

        const forgotten = yield* Coordinator.make({ maxOrigins: 2, cautiousStart: false })
        yield* spent(forgotten)
        yield* TestClock.adjust(1)
        yield* forgotten.admit(B, true)
        yield* TestClock.adjust(1)
        yield* forgotten.admit(B, false) // B used again: A stays the least recently used
        yield* TestClock.adjust(1)
        yield* forgotten.admit("http://c.test", true)
        expect(yield* forgotten.allowRetry(A)).toBe(true)
      })))

    it.effect("originTtl: an origin unused for more than a minute is forgotten", () =>
      seeded(Effect.gen(function*() {
        const c = yield* Coordinator.make({ originTtl: "1 minute" })
        for (const origin of [A, B, "http://c.test"]) yield* learn(c, origin, ok(0))
        expect(yield* c.size).toBe(3)
        yield* TestClock.adjust("30 seconds")
        yield* c.admit(B, true) // B used again at 30 s
        yield* TestClock.adjust("31 seconds")
        // At 61 s, A and c.test have been unused for 61 s: a new origin is touched, they are forgotten.
        yield* c.admit("http://d.test", true)
        expect(yield* c.size).toBe(2)
      })))

    it.effect("originTtl: an origin unused for more than the TTL starts over (cautious start again)", () =>
      seeded(Effect.gen(function*() {
        const c = yield* Coordinator.make({ originTtl: "1 minute" })
        yield* learn(c, A, ok(0))
        expect((yield* calls(c, A, 2)).times).toStrictEqual([0, 0])
        yield* TestClock.adjust("61 seconds")
        // Forgotten: it has never answered, as far as the coordinator knows.
        const again = yield* calls(c, A, 3)
        expect(again.times).toStrictEqual([61_000, undefined, undefined])
      })))

    it.effect("originTtl: an origin used within the TTL is kept", () =>
      seeded(Effect.gen(function*() {
        const c = yield* Coordinator.make({ originTtl: "1 minute" })
        yield* learn(c, A, ok(0))
        yield* TestClock.adjust("59 seconds")
        expect((yield* calls(c, A, 3)).times).toStrictEqual([59_000, 59_000, 59_000])
        yield* TestClock.adjust("59 seconds")
        expect((yield* calls(c, A, 3)).times).toStrictEqual([118_000, 118_000, 118_000])
        expect(yield* c.size).toBe(1)
      })))
  })

  describe("visibility", () => {
    it.effect("holds{reason=cooldown} counts each held call once, releases counts each release", () =>
      isolatedMetrics(seeded(Effect.gen(function*() {
        const c = yield* Coordinator.make()
        const holds0 = yield* held("cooldown")
        const releases0 = yield* count(Coordinator.releases)
        yield* learn(c, A, { status: 429, headers: { "retry-after": "2" }, receivedAt: 0 })
        expect(yield* held("cooldown")).toBe(holds0)
        const five = yield* calls(c, A, 5)
        expect(yield* held("cooldown")).toBe(holds0 + 5)
        expect(yield* count(Coordinator.releases)).toBe(releases0)
        yield* TestClock.adjust(2000 + SPREAD)
        expect(admittedCount(five.times)).toBe(5)
        expect(yield* held("cooldown")).toBe(holds0 + 5)
        expect(yield* count(Coordinator.releases)).toBe(releases0 + 5)
        // Calls that are not held count in neither.
        yield* calls(c, A, 3)
        expect(yield* held("cooldown")).toBe(holds0 + 5)
        expect(yield* count(Coordinator.releases)).toBe(releases0 + 5)
      }))))

    it.effect("holds{reason=learning} and holds{reason=pacing}", () =>
      isolatedMetrics(seeded(Effect.gen(function*() {
        const learning0 = yield* held("learning")
        const pacing0 = yield* held("pacing")
        const c = yield* Coordinator.make({ limits: { [B]: { requests: 2, window: "1 second" } } })
        yield* calls(c, A, 4)
        expect(yield* held("learning")).toBe(learning0 + 3)
        yield* calls(c, B, 5)
        expect(yield* held("pacing")).toBe(pacing0 + 3)
        expect(yield* held("cooldown")).toBe(0)
      }))))

    it.effect("refusals counts each refused retry", () =>
      isolatedMetrics(seeded(Effect.gen(function*() {
        const c = yield* Coordinator.make()
        const refusals0 = yield* count(Coordinator.refusals)
        const answers = yield* Effect.replicateEffect(c.allowRetry(A), 5)
        expect(answers).toStrictEqual([true, true, true, false, false])
        expect(yield* count(Coordinator.refusals)).toBe(refusals0 + 2)
      }))))

    it.effect("logs each hold and each refusal at debug level", () =>
      seeded(Effect.gen(function*() {
        const logs: Array<{ level: string; message: unknown; annotations: Record<string, unknown> }> = []
        const logger = Logger.make(({ annotations, logLevel, message }) => {
          logs.push({
            level: logLevel.label,
            message: Array.isArray(message) ? message[0] : message,
            annotations: Object.fromEntries(annotations)
          })
        })
        yield* Effect.gen(function*() {
          const c = yield* Coordinator.make()
          yield* learn(c, A, { status: 429, headers: { "retry-after": "2" }, receivedAt: 0 })
          yield* calls(c, A, 1)
          yield* Effect.replicateEffect(c.allowRetry(B), 4)
        }).pipe(Effect.provide(Logger.add(logger)), Logger.withMinimumLogLevel(LogLevel.Debug))
        expect(logs).toStrictEqual([
          {
            level: "DEBUG",
            message: "holding a request to http://a.test: cooldown",
            annotations: { origin: A, reason: "cooldown", until: 2000 }
          },
          {
            level: "DEBUG",
            message: "retry budget of http://b.test is empty",
            annotations: { origin: B, firstAttempts: 0, retries: 3 }
          }
        ])
      })))

    it.effect("adds span events for holds, releases and refused retries", () =>
      seeded(Effect.gen(function*() {
        const [exit, events] = yield* Effect.gen(function*() {
          const c = yield* Coordinator.make()
          yield* learn(c, A, { status: 503, headers: { "retry-after": "1" }, receivedAt: 0 })
          const one = yield* calls(c, A, 1)
          yield* TestClock.adjust(1000 + SPREAD)
          const exit = yield* Fiber.await(one.fibers[0]!)
          yield* Effect.replicateEffect(c.allowRetry(B), 4)
          const span = yield* Effect.currentSpan
          const events = (span as unknown as {
            readonly events: ReadonlyArray<readonly [string, bigint, Record<string, unknown>]>
          }).events
          return [exit, events] as const
        }).pipe(Effect.withSpan("test"))
        // The held call is admitted (under a span too) ...
        expect(Exit.isSuccess(exit) ? "admitted" : Cause.pretty(exit.cause)).toBe("admitted")
        // ... and each decision is a span event.
        expect(events.map(([name, , attributes]) => [name, attributes])).toStrictEqual([
          ["coordinator.hold", { "server.address": A, reason: "cooldown" }],
          ["coordinator.release", { "server.address": A }],
          ["coordinator.retry_refused", { "server.address": B }]
        ])
      })))
  })

  describe("options", () => {
    const problems = (options: Coordinator.CoordinatorOptions): ReadonlyArray<string> => {
      try {
        Coordinator.make(options)
      } catch (e) {
        expect(e).toBeInstanceOf(RetryPolicy.InvalidRetryOptions)
        return (e as RetryPolicy.InvalidRetryOptions).problems
      }
      throw new Error("no InvalidRetryOptions thrown")
    }

    it("throws InvalidRetryOptions listing the exact problem", () => {
      expect(problems({ releaseSpread: -1 })).toStrictEqual(["releaseSpread must be finite and not negative, got -1"])
      expect(problems({ retryBudget: { ratio: -1 } })).toStrictEqual([
        "retryBudget.ratio must be a number from 0 to 1000, got -1"
      ])
      expect(problems({ limits: { [A]: { requests: 0, window: "1 second" } } })).toStrictEqual([
        "limits[\"http://a.test\"].requests must be a whole number of at least 1, got 0"
      ])
      expect(problems({ maxOrigins: 0, originTtl: "-1 seconds", retryBudget: { window: 0 } })).toStrictEqual([
        "retryBudget.window must be more than zero",
        "originTtl must be finite and not negative, got \"-1 seconds\"",
        "maxOrigins must be a whole number of at least 1, got 0"
      ])
    })

    it("layer throws InvalidRetryOptions when built from bad options", () => {
      expect(() => Coordinator.layer({ releaseSpread: -1 })).toThrow(RetryPolicy.InvalidRetryOptions)
    })

    it.effect("releaseSpread: 0 releases every held call at the instant itself", () =>
      seeded(Effect.gen(function*() {
        const c = yield* Coordinator.make({ releaseSpread: 0 })
        yield* learn(c, A, { status: 429, headers: { "retry-after": "1" }, receivedAt: 0 })
        const three = yield* calls(c, A, 3)
        yield* TestClock.adjust(1000)
        expect(three.times).toStrictEqual([1000, 1000, 1000])
      })))

    it.effect("releaseSpread: 1 second spreads over a second", () =>
      seeded(Effect.gen(function*() {
        const c = yield* Coordinator.make({ releaseSpread: "1 second" })
        yield* learn(c, A, { status: 429, headers: { "retry-after": "1" }, receivedAt: 0 })
        const expected = draws(3).map((r) => releasedAt(0, 1000, r, 1000))
        const three = yield* calls(c, A, 3)
        yield* TestClock.adjust(2000)
        expect(three.times).toStrictEqual(expected)
      })))
  })

  describe("service", () => {
    it("originOf keeps scheme, host and port", () => {
      expect(Coordinator.originOf("https://api.example.com/items?page=2")).toBe("https://api.example.com")
      expect(Coordinator.originOf("https://api.example.com:8443/x")).toBe("https://api.example.com:8443")
      expect(Coordinator.originOf("HTTP://A.TEST:80/")).toBe("http://a.test")
      expect(Coordinator.originOf("not a url")).toBe("not a url")
    })

    it.effect("current is None without a layer, and the layer's coordinator with it", () =>
      Effect.gen(function*() {
        expect(Option.isNone(yield* Coordinator.current)).toBe(true)
        const size = yield* Effect.flatMap(Coordinator.current, (c) => Option.getOrThrow(c).size).pipe(
          Effect.provide(Coordinator.layer())
        )
        expect(size).toBe(0)
        const shared = yield* Effect.gen(function*() {
          const one = yield* Coordinator.Coordinator
          yield* one.admit(A, true)
          const two = yield* Coordinator.Coordinator
          return yield* two.size
        }).pipe(Effect.provide(Layer.fresh(Coordinator.layer())))
        expect(shared).toBe(1)
      }))
  })
})
