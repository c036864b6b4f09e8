import { Coordinator, RetryPolicy } from "@effect-retry/core"
import * as CoordinatorPlan from "@effect-retry/engine/CoordinatorPlan"
import * as State from "@effect-retry/engine/CoordinatorState"
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
import * as v8 from "node:v8"
import * as vm from "node:vm"

const O = "http://a.test"

const config = (overrides: Partial<State.Config> = {}): State.Config => ({
  cautiousStart: true,
  limits: new Map(),
  maxSharedCooldown: 60_000,
  retryThrottle: { k: 2, minRequests: 20, window: 60_000 },
  ttl: 300_000,
  maxPartitions: 10_000,
  ...overrides
})

const request = (route = "/items/:", attempt: State.Attempt = "first", partition = O): State.Request => ({
  partition,
  origin: partition,
  route,
  attempt
})

const answer = (
  status: number,
  receivedAt: number,
  extra: Partial<State.Answer> = {}
): State.Answer => ({
  status,
  receivedAt,
  hintAt: undefined,
  rateLimit: undefined,
  bucket: undefined,
  serverOffset: undefined,
  hintFromDate: false,
  resetFromDate: false,
  ...extra
})

/** Admits, or throws saying why it held. */
const go = (machine: State.CoordinatorState, now: number, req = request(), random = 0.5): State.Permit => {
  const admission = machine.admit(req, now, random)
  if (!(admission instanceof State.Permit)) throw new Error(`held: ${admission.reason} until ${admission.until}`)
  return admission
}

const held = (machine: State.CoordinatorState, now: number, req = request(), random = 0.5) => {
  const admission = machine.admit(req, now, random)
  return admission instanceof State.Hold ? { until: admission.until, reason: admission.reason } : "admitted"
}

/** A machine told `requests` per second for O: at most `burst` at once (default: all), its windows back to back or not. */
const toldPerSecond = (requests: number, options: { readonly burst?: number; readonly backToBack?: boolean } = {}) =>
  new State.CoordinatorState(
    config({
      limits: new Map([[O, {
        requests,
        window: 1_000,
        burst: options.burst ?? requests,
        backToBack: options.backToBack ?? false
      }]])
    })
  )

/** A machine whose bucket for O has answered once with a 200 (cautious start over, no limit known). */
const warmed = (overrides: Partial<State.Config> = {}) => {
  const machine = new State.CoordinatorState(config({ cautiousStart: false, ...overrides }))
  machine.observe(go(machine, 0), answer(200, 1))
  return machine
}

const SEED = "effect-retry/coordinator"
/** The default `releaseSpread`, in ms. */
const SPREAD = 20

/** Runs a test under the seeded Random every expectation below is computed from. */
const seeded = <X, E, R>(self: Effect.Effect<X, E, R>): Effect.Effect<X, E, R> =>
  Effect.withRandom(self, Random.make(SEED))

/** The first `n` draws of `Random.make(SEED)`: one per held call, in the order the calls are held. */
const draws = (n: number): ReadonlyArray<number> =>
  Effect.runSync(Effect.withRandom(Effect.replicateEffect(Random.next, n), Random.make(SEED)))

/** When a call held at `now` until `until` is released, given its draw `r`. */
const releasedAt = (now: number, until: number, r: number, spread = SPREAD) =>
  now + Duration.toMillis(Duration.millis(Math.ceil(Math.max(0, until - now) + r * spread)))

const info = (path = "/x", attempt: Coordinator.RequestInfo["attempt"] = "first"): Coordinator.RequestInfo => ({
  method: "GET",
  url: `${O}${path}`,
  headers: {},
  attempt
})

/** Forks `n` calls, in order, each recording when it was admitted (undefined while it waits). */
const calls = (coordinator: Coordinator.Coordinator, n: number, request = info()) =>
  Effect.gen(function*() {
    const times: Array<number | undefined> = Array.from({ length: n }, () => undefined)
    const fibers = yield* Effect.forEach(
      Array.from({ length: n }, (_, i) => i),
      (i) =>
        Effect.fork(coordinator.withPermit(request, () =>
          Effect.map(Clock.currentTimeMillis, (now) => {
            times[i] = now
          })))
    )
    yield* TestClock.adjust(0)
    return { times, fibers }
  })

/** One call whose answer is `response`. */
const told = (coordinator: Coordinator.Coordinator, response: Coordinator.Observed, request = info()) =>
  coordinator.withPermit(request, (permit) => coordinator.observe(permit, response))

let metricsRun = 0
/** Tags every metric updated and read by `self` with a label of its own, so tests running alongside don't count. */
const isolatedMetrics = <X, E, R>(self: Effect.Effect<X, E, R>): Effect.Effect<X, E, R> =>
  Effect.tagMetrics(self, "coordinator_test_run", String(++metricsRun))

const count = (metric: Metric.Metric.Counter<number>) => Effect.map(Metric.value(metric), (state) => state.count)
const holdsFor = (reason: Coordinator.HoldReason) => count(Metric.tagged(Coordinator.holds, "reason", reason))

describe("Coordinator", () => {
  describe("cautious start", () => {
    it("one request goes first; the others wait for its answer, then ramp up: twice as many in flight as answered", () => {
      const machine = new State.CoordinatorState(config())
      const opener = go(machine, 0)
      expect(opener.learn).toBe(true)
      expect(held(machine, 0)).toStrictEqual({ until: 5_000, reason: "learning" })
      machine.observe(opener, answer(200, 10))
      const admitted = [go(machine, 10), go(machine, 10)]
      expect(held(machine, 10)).toStrictEqual({ until: undefined, reason: "learning" })
      for (const p of admitted) machine.observe(p, answer(200, 20))
      // Three answered: six in flight.
      for (let i = 0; i < 6; i++) go(machine, 20)
      expect(held(machine, 20)).toStrictEqual({ until: undefined, reason: "learning" })
    })

    it("an opener lost without an answer lets the next request go at once", () => {
      const machine = new State.CoordinatorState(config())
      const opener = go(machine, 0)
      expect(machine.settle(opener, "failure", 50)).toBe(true)
      expect(go(machine, 50).opener).toBe(true)
    })

    it("a failing server ends the ramp: the others are not held behind its failures", () => {
      const machine = new State.CoordinatorState(config())
      machine.observe(go(machine, 0), answer(500, 5))
      for (let i = 0; i < 30; i++) go(machine, 5)
    })
  })

  describe("windows from rate-limit headers", () => {
    const limited = (remaining: number, resetAt: number) => ({ remaining, resetAt, limit: 10 })

    it("takes the quota an answer gives, holds the rest until the reset, then one request opens the next window", () => {
      const machine = new State.CoordinatorState(config())
      machine.observe(go(machine, 0), answer(200, 10, { rateLimit: limited(3, 1_000) }))
      const sent = [go(machine, 10), go(machine, 10), go(machine, 10)]
      expect(held(machine, 10)).toStrictEqual({ until: 1_000, reason: "pacing" })
      for (const p of sent) machine.observe(p, answer(200, 20, { rateLimit: limited(0, 1_000) }))
      // At the reset, the phase of the server's windows is known only to the second: one request goes first.
      const opener = go(machine, 1_000)
      expect(opener.opener).toBe(true)
      expect(held(machine, 1_000)).toStrictEqual({ until: 6_000, reason: "pacing" })
      machine.observe(opener, answer(200, 1_010, { rateLimit: limited(9, 2_000) }))
      for (let i = 0; i < 9; i++) go(machine, 1_010)
      expect(held(machine, 1_010)).toStrictEqual({ until: 2_000, reason: "pacing" })
    })

    it("a window's opener throttled with a hint holds until the hint, and the window after opens with one request again", () => {
      const machine = new State.CoordinatorState(config())
      machine.observe(go(machine, 0), answer(200, 10, { rateLimit: limited(0, 1_000) }))
      const opener = go(machine, 1_000)
      machine.observe(opener, answer(429, 1_005, { hintAt: 2_005, rateLimit: limited(0, 2_005) }))
      expect(held(machine, 1_500)).toStrictEqual({ until: 2_005, reason: "cooldown" })
      expect(go(machine, 2_005).opener).toBe(true)
      expect(held(machine, 2_005)).toStrictEqual({ until: 7_005, reason: "pacing" })
    })

    it("a reset measured against Date: the opener goes when the server's clock may read it, the rest follow its answer", () => {
      // A burst at 9_500 answered at 9_510 with Date 9_000 and a reset at epoch 11 s: measured as 11_000 - 9_000 from
      // 9_510, 11_510. The server's clock is ours plus -510 to +500 ms (Date rounds down by up to a second), so it
      // reads 11_000 no later than 11_510 and possibly from 10_500 on.
      const machine = new State.CoordinatorState(config())
      const first = go(machine, 9_500)
      machine.observe(
        first,
        answer(200, 9_510, { rateLimit: limited(0, 11_510), serverOffset: -510, resetFromDate: true })
      )
      expect(held(machine, 9_510)).toStrictEqual({ until: 10_510, reason: "pacing" })
      const opener = go(machine, 10_510)
      expect(opener.opener).toBe(true)
      // The others wait for its answer, and never past the reset itself.
      expect(held(machine, 10_510)).toStrictEqual({ until: 11_510, reason: "pacing" })
      // Its answer: the window had opened (a new quota, a reset at epoch 12 s): they go at once.
      machine.observe(
        opener,
        answer(200, 10_520, { rateLimit: limited(5, 12_520), serverOffset: -520, resetFromDate: true })
      )
      for (let i = 0; i < 5; i++) go(machine, 10_520)
      // The server's clock is now ours plus -510 to +490 ms: it reads the next reset (epoch 12 s) no later than 12_510
      // and possibly from 11_510 on.
      expect(held(machine, 10_520)).toStrictEqual({ until: 11_510, reason: "pacing" })
    })

    // The server's window starts with the request sent at 10_370 and lasts 1 s: it ends at 11_371, and the server
    // rounds that up to epoch 12 s. The answer at 10_372 says Date 10 s: measured from it, the reset is 12_372, up to
    // two seconds late (Date rounds down, the reset rounds up). The fewest whole seconds after the request that this
    // allows is one: the opener goes at 11_372, then the others follow its answer (until the reset at the latest).
    const openedByFirst = (machine: State.CoordinatorState, reset: number) => {
      machine.observe(
        go(machine, 10_370),
        answer(200, 10_372, { rateLimit: limited(9, 12_372), serverOffset: -372, resetFromDate: true })
      )
      for (let i = 0; i < 9; i++) go(machine, 10_372)
      expect(held(machine, 10_372)).toStrictEqual({ until: 11_372, reason: "pacing" })
      expect(go(machine, 11_372).opener).toBe(true)
      expect(held(machine, 11_372)).toStrictEqual({ until: reset, reason: "pacing" })
    }

    it("a window this request opened, its reset in epoch seconds: the opener goes whole seconds after it", () => {
      openedByFirst(new State.CoordinatorState(config()), 12_372)
    })

    it("so does it when the server's clock is known to the millisecond: the reset's own rounding remains", () => {
      const machine = new State.CoordinatorState(config({ cautiousStart: false }))
      // Two answers either side of the server's second teach its clock (ours, to 3 ms): the reset, epoch 12 s, is
      // 12_001 on our clock, 630 ms after the window ends.
      machine.observe(go(machine, 5_998, request("/health")), answer(200, 5_999, { serverOffset: -999 }))
      machine.observe(go(machine, 6_000, request("/health")), answer(200, 6_001, { serverOffset: -1 }))
      openedByFirst(machine, 12_001)
    })

    it("a window of known length ends by the answer to its first request plus that length", () => {
      // `RateLimit-Policy: 40;w=1`: the answer at 9_510 leaves 39 of 40, so the server counted that request as the
      // first of a window that ends by 10_510, earlier than the reset it rounded up (`RateLimit-Reset: 2`).
      const machine = new State.CoordinatorState(config())
      const sent = go(machine, 9_500)
      const rateLimit = { remaining: 39, resetAt: 11_510, limit: 40, windowMillis: 1_000 }
      machine.observe(sent, answer(200, 9_510, { rateLimit }))
      for (let i = 0; i < 39; i++) go(machine, 9_510)
      expect(held(machine, 9_510)).toStrictEqual({ until: 10_510, reason: "pacing" })
      expect(go(machine, 10_510).opener).toBe(true)
    })

    it("a told window ends by the first of its answers to come plus its length, whichever request it answers", () => {
      // Told 40 per second, 40 sent at once; the first answer to come (at 30) is to the 10th request the server
      // counted. The window it was counted in started before that request arrived: it ends by 1_030, not by the
      // reset rounded up to the second (2_000), nor by the answer to the first request (at 60).
      const machine = toldPerSecond(40)
      const sent = Array.from({ length: 40 }, () => go(machine, 0))
      machine.observe(sent[9]!, answer(200, 30, { rateLimit: { remaining: 30, resetAt: 2_000, limit: 40 } }))
      machine.observe(sent[0]!, answer(200, 60, { rateLimit: { remaining: 39, resetAt: 2_000, limit: 40 } }))
      expect(held(machine, 60)).toStrictEqual({ until: 1_030, reason: "pacing" })
    })

    it("a told window past its sure end: the next window's whole quota goes at once, its end bounded by its first answer", () => {
      const machine = toldPerSecond(40)
      const first = Array.from({ length: 40 }, () => go(machine, 0))
      machine.observe(first[0]!, answer(200, 5, { rateLimit: { remaining: 39, resetAt: 1_000, limit: 40 } }))
      expect(held(machine, 5)).toStrictEqual({ until: 1_000, reason: "pacing" })
      // At the end the server told, 40 go without waiting for an opener's answer; the 41st waits for news.
      const second = Array.from({ length: 40 }, () => go(machine, 1_000))
      expect(held(machine, 1_000)).toStrictEqual({ until: 7_000, reason: "pacing" })
      // (Held for the window's first answer, bounded by its patience: a call whose deadline is sooner waits for it.)
      expect((machine.admit(request(), 1_000, 0.5) as State.Hold).answer).toBe(true)
      machine.observe(second[0]!, answer(200, 1_010, { rateLimit: { remaining: 39, resetAt: 2_000, limit: 40 } }))
      expect(held(machine, 1_010)).toStrictEqual({ until: 2_000, reason: "pacing" })
    })

    it("a told limit is also the quota of a bucket the server names: each window's whole quota goes at once", () => {
      const machine = toldPerSecond(40, { backToBack: true })
      const first = Array.from({ length: 40 }, () => go(machine, 0))
      // The answers name their bucket (the IETF policy "default"): the route's bucket from then on, told 40 as well.
      const rateLimit = { remaining: 39, resetAt: 1_005, limit: 40, windowMillis: 1_000 }
      machine.observe(first[0]!, answer(200, 5, { bucket: "default", rateLimit }))
      expect(held(machine, 5)).toStrictEqual({ until: 1_005, reason: "pacing" })
      // At its end, the next window's 40 go without waiting for an opener's answer, and it lasts a window.
      Array.from({ length: 40 }, () => go(machine, 1_005))
      expect(held(machine, 1_005)).toStrictEqual({ until: 2_005, reason: "pacing" })
    })

    it("a bucket named for the first time counts every request still on its way under the bucket they went in", () => {
      const machine = new State.CoordinatorState(config({ cautiousStart: false }))
      // Five requests on each of two routes, under the origin's own bucket; an answer of the first names bucket "p".
      const orders = Array.from({ length: 5 }, () => go(machine, 0, request("/orders/:")))
      Array.from({ length: 5 }, () => go(machine, 0, request("/users/:")))
      const rateLimit = { remaining: 9, resetAt: 1_000, limit: 10 }
      machine.observe(orders[0]!, answer(200, 5, { bucket: "p", rateLimit }))
      // Nine left, and nine still on their way (the server may count the other route's in "p" too): none may go.
      expect(held(machine, 5, request("/orders/:"))).toStrictEqual({ until: 1_000, reason: "pacing" })
    })

    it("a told window the server refuses with 429 opens with one request from then on: its windows are not the ones told", () => {
      // Told 40 per second; the server's windows last 2 s. At the told end, 40 go and the server refuses them.
      const machine = toldPerSecond(40)
      const first = Array.from({ length: 40 }, () => go(machine, 0))
      machine.observe(first[0]!, answer(200, 5, { rateLimit: { remaining: 39, resetAt: 2_000, limit: 40 } }))
      const second = Array.from({ length: 40 }, () => go(machine, 1_005))
      machine.observe(
        second[0]!,
        answer(429, 1_010, { hintAt: 2_000, rateLimit: { remaining: 0, resetAt: 2_000, limit: 40 } })
      )
      expect(held(machine, 1_010)).toStrictEqual({ until: 2_000, reason: "cooldown" })
      // The next window opens with one request, whose answer the others follow.
      expect(go(machine, 2_000).opener).toBe(true)
      expect(held(machine, 2_000)).toMatchObject({ reason: "pacing" })
    })

    it("an untold limit's next window still opens with one request, whose answer the others follow", () => {
      const machine = new State.CoordinatorState(config({ cautiousStart: false }))
      const first = Array.from({ length: 40 }, () => go(machine, 0))
      machine.observe(first[0]!, answer(200, 5, { rateLimit: { remaining: 39, resetAt: 1_000, limit: 40 } }))
      expect(go(machine, 1_000).opener).toBe(true)
      expect(held(machine, 1_000)).toMatchObject({ reason: "pacing", until: 6_000 })
    })

    /** A quota of two: `remaining` of them left, the reset (epoch seconds, measured against `Date`) at `resetAt`. */
    const two = (remaining: number, resetAt: number) => ({ remaining, resetAt, limit: 2 })

    /**
     * Date 9_000 and a reset at epoch 11 s; then the window's opener finds the next one: Date 10_000, reset 12 s, so
     * the windows last a second. Its answer, at 10_520, leaves one of two: the server counted it first in its window.
     * Returns the machine, and the one request of that window it lets go.
     */
    const secondWindowOpened = () => {
      const machine = new State.CoordinatorState(config())
      machine.observe(
        go(machine, 9_500),
        answer(200, 9_510, { rateLimit: two(0, 11_510), serverOffset: -510, resetFromDate: true })
      )
      const opener = go(machine, 10_510)
      machine.observe(
        opener,
        answer(200, 10_520, { rateLimit: two(1, 12_520), serverOffset: -520, resetFromDate: true })
      )
      return { machine, other: go(machine, 10_520) }
    }

    it("learns the windows' length from consecutive epoch resets, and bounds a later burst's window by it", () => {
      const { machine } = secondWindowOpened()
      // Much later, a burst: its first answer leaves one less than the limit, so its window ends by 31_010, a
      // learned second after that answer (its reset, epoch 32 s, is read as 32_010 at the latest).
      const first = go(machine, 30_000)
      machine.observe(first, answer(200, 30_010, { rateLimit: two(1, 32_010), serverOffset: -10, resetFromDate: true }))
      go(machine, 30_010)
      expect(held(machine, 30_010)).toStrictEqual({ until: 31_010, reason: "pacing" })
    })

    it("a later answer that bounds the window closer than its reset leaves the next opener where the first answer put it", () => {
      // The next opener may go a second after the answer to the window's first request.
      const { machine, other } = secondWindowOpened()
      expect(held(machine, 10_520)).toStrictEqual({ until: 11_520, reason: "pacing" })
      // The other request's answer, 30 ms later, bounds the window by 11_550 (a learned second after it): closer than
      // the reset, but not than the opener's answer did.
      machine.observe(
        other,
        answer(200, 10_550, { rateLimit: two(0, 12_550), serverOffset: -550, resetFromDate: true })
      )
      expect(held(machine, 10_550)).toStrictEqual({ until: 11_520, reason: "pacing" })
      expect(go(machine, 11_520).opener).toBe(true)
      // The others follow its answer, and never past the window's sure end.
      expect(held(machine, 11_520)).toStrictEqual({ until: 11_550, reason: "pacing" })
    })

    it("an early opener throttled: the window opens at the instant the throttle told, not before", () => {
      const machine = new State.CoordinatorState(config())
      machine.observe(
        go(machine, 9_500),
        answer(200, 9_510, { rateLimit: limited(0, 11_510), serverOffset: -510, resetFromDate: true })
      )
      const opener = go(machine, 10_510)
      machine.observe(
        opener,
        answer(429, 10_520, { rateLimit: limited(0, 11_520), serverOffset: -520, resetFromDate: true })
      )
      expect(held(machine, 10_520)).toStrictEqual({ until: 11_510, reason: "pacing" })
      expect(go(machine, 11_510).opener).toBe(true)
    })

    it("forgets the limit when a window's opener comes back without rate-limit fields", () => {
      const machine = new State.CoordinatorState(config())
      machine.observe(go(machine, 0), answer(200, 10, { rateLimit: limited(0, 1_000) }))
      machine.observe(go(machine, 1_000), answer(200, 1_010))
      for (let i = 0; i < 100; i++) go(machine, 1_010)
    })

    it("a 429 without a limit header teaches no limit: the next window opens with one request and takes its word", () => {
      const machine = new State.CoordinatorState(config())
      machine.observe(
        go(machine, 0),
        answer(429, 10, { hintAt: 1_010, rateLimit: { remaining: 0, resetAt: 1_010, limit: undefined } })
      )
      const opener = go(machine, 1_010)
      machine.observe(opener, answer(200, 1_020, { rateLimit: { remaining: 39, resetAt: 2_020, limit: undefined } }))
      for (let i = 0; i < 39; i++) go(machine, 1_020)
      expect(held(machine, 1_020)).toStrictEqual({ until: 2_020, reason: "pacing" })
    })

    it("a route never answered while its bucket is spent sends one request to learn whether it is in that bucket", () => {
      const machine = new State.CoordinatorState(config())
      machine.observe(go(machine, 0), answer(200, 10, { rateLimit: limited(0, 1_000) }))
      const probe = go(machine, 20, request("/plain/:"))
      expect(probe.learn).toBe(true)
      expect(held(machine, 20, request("/plain/:"))).toStrictEqual({ until: 5_020, reason: "pacing" })
      // Its answer has no rate-limit fields: the route is not paced by that window, and (this server's limiter
      // speaks) its other calls all go at once.
      machine.observe(probe, answer(200, 25))
      for (let i = 0; i < 40; i++) go(machine, 25, request("/plain/:"))
      expect(held(machine, 25)).toStrictEqual({ until: 1_000, reason: "pacing" })
    })

    it("a route that answers without rate-limit fields is read one answer in LEARN_EVERY, though its origin's window is known", () => {
      const machine = new State.CoordinatorState(config())
      machine.observe(go(machine, 0), answer(200, 10, { rateLimit: limited(30, 1_000) }))
      machine.observe(go(machine, 20, request("/plain/:")), answer(200, 25))
      // The route spends none of the window's quota: its answers are sampled (the 1st, 17th and 33rd of 40), while
      // every answer of the windowed route is read (it tells what is left of the quota).
      const plain = Array.from({ length: 40 }, () => go(machine, 30, request("/plain/:")).learn)
      expect(plain.filter((learn) => learn).length).toBe(Math.ceil(40 / State.LEARN_EVERY))
      expect(go(machine, 30).learn).toBe(true)
    })

    it("a new route of an origin whose limiter speaks starts at once, but not after a refusal without a word", () => {
      // An origin whose limiter speaks (here a 503 with a hint): a new route of it starts at once.
      const machine = new State.CoordinatorState(config())
      machine.observe(go(machine, 0), answer(503, 5, { hintAt: 10 }))
      for (let i = 0; i < 40; i++) machine.observe(go(machine, 20, request("/first/:")), answer(200, 21))
      // A hint-less 429 on one route: a limiter that says nothing is in front of the origin.
      machine.observe(go(machine, 30, request("/search/:")), answer(429, 40))
      const probe = go(machine, 5_000, request("/plain/:"))
      expect(held(machine, 5_000, request("/plain/:"))).toStrictEqual({ until: 10_000, reason: "learning" })
      machine.observe(probe, answer(200, 5_005))
      // (The rate that refusal taught, 4 per second from what its route was accepted, doubled by the probe's answer,
      // spaces the next request 125 ms after the probe.)
      expect(held(machine, 5_100, request("/plain/:"))).toStrictEqual({ until: 5_125, reason: "pacing" })
      machine.observe(go(machine, 5_125, request("/plain/:")), answer(200, 5_130))
      // A minute after that refusal, the rate it taught is forgotten (after 30 s without a throttle), and the origin
      // starts cautiously again: a new route sends one request first, and its others follow that answer.
      const again = go(machine, 60_040, request("/other/:"))
      expect(held(machine, 60_040, request("/other/:"))).toStrictEqual({ until: 65_040, reason: "learning" })
      machine.observe(again, answer(200, 60_045))
      // Then twice as many in flight as answered, until the ramp is over.
      go(machine, 60_045, request("/other/:"))
      go(machine, 60_045, request("/other/:"))
      expect(held(machine, 60_045, request("/other/:"))).toStrictEqual({ until: undefined, reason: "learning" })
    })

    it("buckets the server names are paced apart: a spent search bucket does not hold the core one", () => {
      const machine = warmed()
      const search = go(machine, 10, request("/search/code"))
      machine.observe(search, answer(429, 20, { hintAt: 30_020, bucket: "search", rateLimit: limited(0, 30_020) }))
      expect(held(machine, 30, request("/search/code"))).toStrictEqual({ until: 30_020, reason: "cooldown" })
      const core = go(machine, 30, request("/repos/:"))
      machine.observe(core, answer(200, 40, { bucket: "core", rateLimit: limited(4_999, 3_600_000) }))
      expect(go(machine, 40, request("/repos/:")).bucket).toBe("core")
      expect(go(machine, 40, request("/")).bucket).toBe("")
    })
  })

  describe("routes", () => {
    it("a new route of a known origin starts cautiously: one request first, the route's others follow its answer", () => {
      const machine = new State.CoordinatorState(config())
      machine.observe(go(machine, 0, request("/a")), answer(200, 5))
      const first = go(machine, 10, request("/b/:"))
      expect(held(machine, 10, request("/b/:"))).toStrictEqual({ until: 5_010, reason: "learning" })
      // Other routes are not held by it.
      go(machine, 10, request("/a"))
      machine.observe(first, answer(200, 20))
      go(machine, 20, request("/b/:"))
    })

    it("a route's answers with rate-limit fields put it in its origin's window", () => {
      const machine = new State.CoordinatorState(config())
      const first = go(machine, 0, request("/limited/:"))
      machine.observe(first, answer(200, 5, { rateLimit: { remaining: 1, resetAt: 1_000, limit: 2 } }))
      go(machine, 5, request("/limited/:"))
      expect(held(machine, 5, request("/limited/:"))).toStrictEqual({ until: 1_000, reason: "pacing" })
    })
  })

  describe("cooldowns", () => {
    it("a 503 hint without a bucket holds every route of the origin until its instant", () => {
      const machine = warmed()
      machine.observe(go(machine, 10, request("/a")), answer(503, 20, { hintAt: 2_020 }))
      expect(held(machine, 30, request("/b"))).toStrictEqual({ until: 2_020, reason: "cooldown" })
      go(machine, 2_020, request("/b"))
    })

    it("a hint longer than maxSharedCooldown is not shared: another route is sent at once", () => {
      const machine = warmed()
      machine.observe(go(machine, 10, request("/a")), answer(429, 20, { hintAt: 20 + 3_000_000_000 }))
      go(machine, 21, request("/b"))
      go(machine, 21, request("/a"))
    })

    it("a later, longer hint extends the cooldown; a shorter one does not shorten it", () => {
      const machine = warmed()
      const [first, second] = [go(machine, 10), go(machine, 10)]
      machine.observe(first, answer(503, 20, { hintAt: 3_000 }))
      machine.observe(second, answer(503, 30, { hintAt: 2_000 }))
      expect(held(machine, 40)).toStrictEqual({ until: 3_000, reason: "cooldown" })
    })

    it("a 429 hint to a request of a burst sent before its window was known holds the others too", () => {
      // Three requests at once, the window unknown. The first answer tells it (two of three left), and the last
      // request, counted past the quota, is told to come back at 1_022: nothing goes before then, though the window
      // the first answer told would have opened its successor with one request at 1_002.
      const machine = warmed()
      const burst = [go(machine, 0), go(machine, 0), go(machine, 0)]
      machine.observe(burst[0]!, answer(200, 2, { rateLimit: { remaining: 1, resetAt: 1_002, limit: 3 } }))
      machine.observe(burst[1]!, answer(200, 3, { rateLimit: { remaining: 0, resetAt: 1_003, limit: 3 } }))
      machine.observe(
        burst[2]!,
        answer(429, 22, { hintAt: 1_022, rateLimit: { remaining: 0, resetAt: 1_022, limit: 3 } })
      )
      expect(held(machine, 1_002)).toStrictEqual({ until: 1_022, reason: "cooldown" })
      expect(go(machine, 1_022)).toBeInstanceOf(State.Permit)
    })
  })

  describe("the server's clock", () => {
    // A server whose clock is 300 ms behind ours. Its Date is rounded down to the second: an instant measured against
    // one Date alone (instant - Date, from when the answer arrived) may be up to a second late, never early.
    const skew = -300
    const dateOffset = (receivedAt: number) => Math.floor((receivedAt + skew) / 1000) * 1000 - receivedAt

    it("learned from the Date of earlier answers, an instant measured against Date is as soon as the server allows", () => {
      const machine = warmed()
      // Answers spread over a second teach the offset: the one received just after the server's second ticked.
      for (const at of [1_100, 1_250, 1_301, 1_700]) {
        machine.observe(go(machine, at - 1), answer(200, at, { serverOffset: dateOffset(at) }))
      }
      // A 503 whose HTTP-date says 5 s on the server's clock, received at 1_900 (server 1_600, Date 1_000).
      const told = 5_000
      const permit = go(machine, 1_899)
      machine.observe(
        permit,
        answer(503, 1_900, { hintAt: 1_900 + told - 1_000, hintFromDate: true, serverOffset: dateOffset(1_900) })
      )
      // Measured against this Date alone it would be 5_900; the server's 5 s is our 5_300: 1 ms of slack is left.
      expect(permit.hintAt).toBe(5_301)
      expect(held(machine, 2_000)).toStrictEqual({ until: 5_301, reason: "cooldown" })
    })

    it("forgets bounds a refusal shows wrong (a clock was set): the next hint is read by its Date alone", () => {
      const machine = warmed()
      // Both clocks are set back 400 ms while an answer is on its way: stamped Date 2 s by the server at its 2_010, it
      // arrives at 1_620 by the clock set back; the bounds read the server 380 ms ahead of us, which it is not.
      machine.observe(go(machine, 1_590), answer(200, 1_620, { serverOffset: 2_000 - 1_620 }))
      // A 503 sent at 2_090, received at 2_100 (Date 2 s): come back at 3_000, read 380 ms too soon, at 2_620.
      const first = go(machine, 2_090)
      machine.observe(first, answer(503, 2_100, { hintAt: 3_100, hintFromDate: true, serverOffset: -100 }))
      expect(first.hintAt).toBe(2_620)
      // The retry leaves at 2_620 and is refused, come back at 3_000 (Date 2 s, received at 2_630): the bounds said the
      // server's clock read 3_000 when it left. Forgotten: the hint is read by this Date, 3_630, not 2_620 again.
      const retry = go(machine, 2_620)
      machine.observe(retry, answer(503, 2_630, { hintAt: 3_630, hintFromDate: true, serverOffset: -630 }))
      expect(retry.hintAt).toBe(3_630)
      expect(held(machine, 2_640)).toStrictEqual({ until: 3_630, reason: "cooldown" })
    })

    it.prop(
      "never before the server's instant, whatever the skew and arrival times",
      [
        fc.integer({ min: -3_600_000, max: 3_600_000 }),
        fc.array(fc.nat(5_000), { minLength: 1, maxLength: 20 }),
        fc.nat(10_000)
      ],
      ([skew, arrivals, wait]) => {
        const machine = warmed()
        const offsetAt = (t: number) => Math.floor((t + skew) / 1000) * 1000 - t
        let t = 10
        for (const gap of arrivals) {
          t += gap
          const sentAt = t - 1
          machine.observe(go(machine, sentAt), answer(200, t, { serverOffset: offsetAt(t) }))
        }
        t += 7
        const serverNow = t + skew
        const instant = Math.floor(serverNow / 1000) * 1000 + wait
        const date = Math.floor(serverNow / 1000) * 1000
        const permit = go(machine, t - 1)
        machine.observe(
          permit,
          answer(503, t, { hintAt: t + instant - date, hintFromDate: true, serverOffset: offsetAt(t) })
        )
        if (permit.hintAt !== undefined) expect(permit.hintAt + skew).toBeGreaterThanOrEqual(instant)
      },
      { fastCheck: { numRuns: 2_000 } }
    )
  })

  describe("a rate inferred when the server throttles without a hint", () => {
    it("a bare 429 paces the bucket from what it accepted, doubles in slow start, then cuts; forgotten later", () => {
      const machine = warmed()
      for (let i = 0; i < 4; i++) machine.observe(go(machine, 100), answer(200, 110))
      const late = go(machine, 120)
      machine.observe(go(machine, 120), answer(429, 130))
      // 5 accepted over the last second: 5 requests per second, one every 200 ms.
      expect(held(machine, 130)).toStrictEqual({ until: 330, reason: "pacing" })
      const next = go(machine, 330)
      expect(held(machine, 330)).toStrictEqual({ until: 530, reason: "pacing" })
      // An accepted answer doubles the rate: the next request may go 100 ms after the last one.
      machine.observe(next, answer(200, 340))
      expect(held(machine, 340)).toStrictEqual({ until: 430, reason: "pacing" })
      // A throttle of a request sent before the last cut does not cut again; one sent after it does.
      machine.observe(late, answer(429, 350))
      expect(held(machine, 350)).toStrictEqual({ until: 430, reason: "pacing" })
      const after = go(machine, 430)
      machine.observe(after, answer(429, 440))
      // Cut to 0.7 x 9.7 (97 % of the 10 refused) = 6.79 per second (more than the 6 accepted over the last second),
      // counted from the cut.
      expect(held(machine, 440)).toStrictEqual({ until: 440 + 1000 / (0.7 * 9.7), reason: "pacing" })
      // No throttle for 30 s: the rate is forgotten at the next accepted answer.
      machine.observe(go(machine, 600), answer(200, 40_000))
      for (let i = 0; i < 50; i++) go(machine, 40_000)
    })

    it("a rate forgotten leaves the bucket cautious: the next burst meets a ramp, not the limiter all at once", () => {
      const machine = new State.CoordinatorState(config())
      // Ramped up on 20 accepted answers, then a bare 429: paced at the 20 per second accepted over the last second.
      for (let i = 0; i < 20; i++) machine.observe(go(machine, 0), answer(200, 1))
      machine.observe(go(machine, 10), answer(429, 11))
      expect(held(machine, 11)).toStrictEqual({ until: 61, reason: "pacing" })
      // 40 s without a throttle: the rate is forgotten, and a burst starts as a new origin's does.
      const first = go(machine, 40_000)
      expect(held(machine, 40_000)).toStrictEqual({ until: undefined, reason: "learning" })
      machine.observe(first, answer(200, 40_005))
      go(machine, 40_005)
      go(machine, 40_005)
      expect(held(machine, 40_005)).toStrictEqual({ until: undefined, reason: "learning" })
    })

    it("a rate forgotten in a busy bucket, or in one whose limit was told, holds nothing back", () => {
      // Requests on their way when the rate is forgotten: the bucket is busy, not starting a burst.
      const busy = new State.CoordinatorState(config())
      for (let i = 0; i < 20; i++) busy.observe(go(busy, 0), answer(200, 1))
      busy.observe(go(busy, 10), answer(429, 11))
      go(busy, 20_000)
      for (let i = 0; i < 10; i++) go(busy, 40_000)
      // A told limit (10 per second, all at once) refused without a hint: paced at an inferred rate, then forgotten.
      const told = toldPerSecond(10)
      told.observe(go(told, 0), answer(429, 5))
      expect(held(told, 5)).toStrictEqual({ until: 255, reason: "pacing" })
      for (let i = 0; i < 10; i++) go(told, 40_000)
    })

    it("says which answers it paces a retry for: a throttle without a hint, not one with a hint nor a failure", () => {
      const machine = warmed()
      const observed = (status: number, extra: Partial<State.Answer> = {}) => {
        const permit = go(machine, 2_000)
        machine.observe(permit, answer(status, 2_000, extra))
        return permit.paced
      }
      expect(observed(200)).toBe(false)
      expect(observed(500)).toBe(false)
      expect(observed(429, { hintAt: 2_500 })).toBe(false)
      // Now paced: the bucket holds the next request until its turn.
      expect(machine.admit(request(), 2_500, 0.5)).toBeInstanceOf(State.Permit)
      const bare = go(machine, 2_600)
      machine.observe(bare, answer(429, 2_610))
      expect(bare.paced).toBe(true)
      expect(held(machine, 2_610)).toMatchObject({ reason: "pacing" })
    })

    it("paces no retry at a rate too fast to hold it, nor at a told spacing: those retries back off", () => {
      // 200 accepted over the last second: the first rate inferred is 200 per second, 5 ms apart.
      const busy = warmed()
      for (let i = 0; i < 200; i++) busy.observe(go(busy, 100), answer(200, 110))
      const fast = go(busy, 120)
      busy.observe(fast, answer(429, 130))
      expect(fast.paced).toBe(false)
      // A told limit of 10 per second, 5 at once: a bare 429 widens the spacing, and holds no retry for its turn.
      const told = toldPerSecond(10, { burst: 5 })
      const spaced = go(told, 0)
      told.observe(spaced, answer(429, 10))
      expect(spaced.paced).toBe(false)
    })

    /** A bare 429 at 110, then three accepted requests 200 ms apart (slow start: 32 per second on paper); the next slot. */
    const slowStartedAt = (machine: State.CoordinatorState): number => {
      machine.observe(go(machine, 100), answer(429, 110))
      let t = 360
      for (let i = 0; i < 3; i++) {
        machine.observe(go(machine, t), answer(200, t + 5))
        t += 200
      }
      return t
    }

    it("a throttle cuts from the rate the request left at when that was slower than the pacing allowed", () => {
      // 4 per second (the least first rate); each accepted answer doubles it, but the requests leave 200 ms apart.
      const machine = warmed()
      const t = slowStartedAt(machine)
      // Paced at 32 per second by now; refused at a request 200 ms after the one before: 5 per second was too much.
      machine.observe(go(machine, t), answer(429, t + 5))
      // Cut from those 5 per second, not from 32 (which made 21.7, 46 ms apart): to 97 % of it, or what the server
      // accepted of the route over the last second if less, 4 per second.
      expect(held(machine, t + 5)).toStrictEqual({ until: t + 5 + 250, reason: "pacing" })
    })

    it("a throttle after a pause cuts from the pacing's rate: a gap of more than a second tells of no rate", () => {
      const machine = warmed()
      let t = slowStartedAt(machine)
      // 32 per second on paper; the next request leaves 5 s later and is refused: cut to 0.7 of 97 % of 32.
      t += 5_000
      machine.observe(go(machine, t), answer(429, t + 5))
      expect(held(machine, t + 5)).toStrictEqual({ until: t + 5 + 1000 / (0.7 * 0.97 * 32), reason: "pacing" })
    })

    it("a throttle of a request that left while the one before it was on its way cuts from the pacing's rate", () => {
      const machine = warmed()
      let t = slowStartedAt(machine)
      // 32 per second on paper. A request leaves, and the next one 200 ms later, before the first one's answer came: a
      // stall of the process between deciding a request and writing it may have sent both at once.
      go(machine, t)
      t += 200
      machine.observe(go(machine, t), answer(429, t + 5))
      // What rate the limiter refused is not known (not 5 per second): cut to 0.7 of 97 % of 32.
      expect(held(machine, t + 5)).toStrictEqual({ until: t + 5 + 1000 / (0.7 * 0.97 * 32), reason: "pacing" })
    })

    it("an accepted answer that lets the paced calls go sooner says so (the held calls hear of it)", () => {
      // (No retry budget: it would have held calls hear of every answer while it has seen few.)
      const machine = warmed({ retryThrottle: undefined })
      machine.observe(go(machine, 100), answer(429, 110))
      // 4 per second: held until 360. The answer to the request at 360 doubles the rate: the next may go at 485.
      expect(held(machine, 111)).toStrictEqual({ until: 360, reason: "pacing" })
      const next = go(machine, 360)
      expect(held(machine, 361)).toStrictEqual({ until: 610, reason: "pacing" })
      expect(machine.observe(next, answer(200, 365))).toBe(true)
      expect(held(machine, 366)).toStrictEqual({ until: 485, reason: "pacing" })
      // One that comes after the next slot has passed does not (nobody waits for a slot it moves).
      const third = go(machine, 485)
      expect(machine.observe(third, answer(200, 700))).toBe(false)
    })

    it("a bare 429 on one route paces from what that route was accepted, not a busy route beside it", () => {
      const machine = warmed()
      // 60 requests to another path of the origin, accepted in the last second (a path without a limiter).
      for (let i = 0; i < 60; i++) machine.observe(go(machine, 500, request("/search")), answer(200, 510 + i))
      // The first request of a limited path is refused: 1 accepted answer of its own (none) over the last second.
      machine.observe(go(machine, 600), answer(429, 610))
      // 4 per second (the least first rate), one every 250 ms; the busy path's 60 per second would have sent one
      // every 17 ms into a limiter that refused the first.
      expect(held(machine, 610)).toStrictEqual({ until: 860, reason: "pacing" })
    })

    it("the rate stays finite however long the server accepts everything", () => {
      const machine = warmed()
      machine.observe(go(machine, 100), answer(429, 110))
      let t = 1_110
      for (let i = 0; i < 3_000; i++) {
        const admission = machine.admit(request(), t, 0.5)
        if (admission instanceof State.Permit) machine.observe(admission, answer(200, t))
        else expect(Number.isFinite(admission.until)).toBe(true)
        t += 3
      }
      // A throttle after that cuts it to a finite rate: the rate the requests left at (one per 3 ms, 333 per second;
      // the pacing allowed far more), less 3 %, which the server accepted over the last second. The next request
      // waits a finite, short time.
      machine.observe(go(machine, t), answer(429, t))
      const hold = machine.admit(request(), t, 0.5)
      expect(hold instanceof State.Hold && hold.until! - t).toBeCloseTo(1000 / (0.97 * (1000 / 3)), 9)
    })

    it("a 503 without a hint from a server that accepts some requests during the ramp is a limiter", () => {
      const machine = new State.CoordinatorState(config())
      machine.observe(go(machine, 0), answer(200, 5))
      const two = [go(machine, 5), go(machine, 5)]
      machine.observe(two[0]!, answer(503, 8))
      // One accepted over the last second, less than the first rate: slow start at 4 requests per second.
      expect(held(machine, 8)).toStrictEqual({ until: 258, reason: "pacing" })
    })

    it("a 503 without a hint refusing most of a new route is a limiter, whatever a busy route beside it got", () => {
      const machine = warmed()
      // 60 requests to another path, accepted in the last second (a warm-up, a busy path without a limiter).
      for (let i = 0; i < 60; i++) machine.observe(go(machine, 500, request("/ok/:")), answer(200, 510 + i))
      // The new route: its first request accepted, the next four refused without a word.
      machine.observe(go(machine, 600), answer(200, 602))
      const four = Array.from({ length: 4 }, () => go(machine, 603))
      for (const [i, permit] of four.entries()) machine.observe(permit, answer(503, 605 + i))
      // Refused 4 of its 5: a limiter, paced at the least first rate (4 per second) from the last refusal. (Over the
      // bucket's last second, 4 refusals among 65 answers said nothing.)
      expect(held(machine, 610)).toStrictEqual({ until: 858, reason: "pacing" })
    })

    it("after a cut, the rate is back just under where it was cut from after 16 accepted answers, then probes past it", () => {
      const machine = warmed()
      for (let i = 0; i < 9; i++) machine.observe(go(machine, 100), answer(200, 110))
      machine.observe(go(machine, 120), answer(429, 130))
      // 10 accepted over the last second: 10 per second, doubling in slow start until the next throttle.
      let t = 230
      machine.observe(go(machine, t), answer(200, t))
      machine.observe(go(machine, t + 50), answer(429, t + 50))
      // Refused at 20 per second: growth will flatten at 19.4 (97 %); cut to 0.7 x 19.4, more than the 11 accepted
      // over the last second.
      t += 50
      expect(held(machine, t)).toStrictEqual({ until: t + 1000 / (0.7 * 19.4), reason: "pacing" })
      const gaps: Array<number> = []
      for (let i = 0; i < 24; i++) {
        t = (held(machine, t) as { until: number }).until
        const permit = go(machine, t)
        machine.observe(permit, answer(200, t))
        gaps.push((held(machine, t) as { until: number }).until - t)
      }
      // 16 answers after the cut, 19.4 per second; 8 more, 19.4 x (1 + 0.3 / 8) past it.
      expect(gaps[15]).toBeCloseTo(1000 / 19.4, 9)
      expect(gaps[23]).toBeCloseTo(1000 / (19.4 * (1 + 0.3 / 8)), 9)
      expect(gaps.every((gap, i) => i === 0 || gap <= gaps[i - 1]!)).toBe(true)
    })

    it.prop(
      "a paced request never waits longer than the slowest inferred rate allows, however the server answers",
      // Mostly throttles, so that the rate reaches its floor.
      [fc.array(fc.tuple(fc.nat(3_000), fc.nat(9)), { minLength: 1, maxLength: 200 })],
      ([answers]) => {
        const machine = warmed()
        let t = 10
        // (A throttle paces from its answer, 1 ms after the request.)
        let answered = t
        for (const [gap, draw] of answers) {
          t += gap
          const admission = machine.admit(request(), t, 0.5)
          if (admission instanceof State.Permit) {
            answered = t + 1
            machine.observe(admission, answer(draw < 8 ? 429 : 200, answered))
          } else {
            expect(admission.reason).toBe("pacing")
            expect(admission.until! - Math.max(t, answered)).toBeLessThanOrEqual(1000 / State.MIN_RATE)
          }
        }
      }
    )

    it("a server that stops accepting anything is failing, not limiting: its 503s forget the rate and pace nothing", () => {
      const machine = warmed()
      for (let i = 0; i < 4; i++) machine.observe(go(machine, 100), answer(200, 110))
      machine.observe(go(machine, 120), answer(429, 130))
      expect(held(machine, 130)).toStrictEqual({ until: 330, reason: "pacing" })
      // Seconds later, nothing but 503s without a hint: the next request is not held.
      machine.observe(go(machine, 5_000), answer(503, 5_001))
      expect(held(machine, 5_001)).toBe("admitted")
    })

    it("a route that accepts nothing is failing, not limiting, whatever its origin's other routes accept: no pacing", () => {
      const machine = warmed()
      const dead = request("/dead/:")
      const sent = Array.from({ length: 10 }, () => go(machine, 2_000, dead))
      for (const p of sent) machine.observe(p, answer(503, 2_010))
      for (let i = 0; i < 10; i++) go(machine, 2_010, dead)
      go(machine, 2_010)
    })
  })

  describe("adaptive retry budget", () => {
    const run = (acceptEvery: number, answers: number, draws: number) => {
      const machine = warmed()
      for (let i = 0; i < answers; i++) {
        machine.observe(go(machine, 10), answer(i % acceptEvery === 0 ? 200 : 500, 20))
      }
      let refused = 0
      for (let i = 0; i < draws; i++) {
        const a = machine.admit(request("/items/:", "retry"), 30, (i + 0.5) / draws)
        if (a instanceof State.Hold && a.refused) refused++
        else if (a instanceof State.Permit) machine.settle(a, "interrupted", 30)
      }
      return refused
    }

    it("a server that accepts 70 % of requests gets every retry", () => {
      // 7 of 10 accepted: requests - 2 x accepts < 0.
      const machine = warmed()
      for (let i = 0; i < 100; i++) machine.observe(go(machine, 10), answer(i % 10 < 7 ? 200 : 500, 20))
      for (let i = 0; i < 100; i++) {
        const a = machine.admit(request("/items/:", "retry"), 30, i / 100)
        expect(a).toBeInstanceOf(State.Permit)
      }
    })

    it("a dead server: a retry is refused with probability (requests - 2 x accepts) / (requests + 1)", () => {
      // 101 answers, 2 of them accepted (the warm-up's and the first): (101 - 2 x 2) / 102 of 1000 evenly spread draws.
      expect(run(1_000_000, 100, 1000)).toBe(Math.round(1000 * (97 / 102)))
    })

    it("a server healthy half a minute ago that fails everything now: retries refused as if the minute were this", () => {
      const machine = warmed()
      for (let i = 0; i < 300; i++) machine.observe(go(machine, 10), answer(200, 20))
      // 30 s later, still within the minute: 30 failures. Over the minute, 330 answers and 301 accepted refuse nothing;
      // over the last two seconds, 30 answers and none accepted refuse a retry with probability 30 / 31.
      for (let i = 0; i < 30; i++) machine.observe(go(machine, 30_000), answer(503, 30_010))
      let refused = 0
      for (let i = 0; i < 1000; i++) {
        const a = machine.admit(request("/items/:", "retry"), 30_020, (i + 0.5) / 1000)
        if (a instanceof State.Hold && a.refused) refused++
        else if (a instanceof State.Permit) machine.settle(a, "interrupted", 30_020)
      }
      expect(refused).toBe(Math.round(1000 * (30 / 31)))
    })

    it("fewer than minRequests answers: no retry is refused", () => {
      expect(run(1_000_000, 18, 100)).toBe(0)
    })

    it("throttles are the pacing's business: 100 bare 429s refuse no retry", () => {
      const machine = warmed()
      const sent = Array.from({ length: 100 }, () => go(machine, 10))
      for (const p of sent) machine.observe(p, answer(429, 20))
      const a = machine.admit(request("/items/:", "retry"), 30, 0)
      expect(a instanceof State.Hold && a.refused).toBe(false)
    })

    it("a retry is judged at once, not held behind another route's request in flight (a long poll)", () => {
      const machine = warmed()
      go(machine, 10, request("/events"))
      machine.observe(go(machine, 10), answer(500, 20))
      expect(machine.admit(request("/items/:", "retry"), 30, 0.5)).toBeInstanceOf(State.Permit)
    })

    it("retries at a server's instant are never refused", () => {
      const machine = warmed()
      for (let i = 0; i < 100; i++) machine.observe(go(machine, 10), answer(500, 20))
      expect(machine.admit(request("/items/:", "retry-after-hint"), 30, 0)).toBeInstanceOf(State.Permit)
    })
  })

  describe("configured limits", () => {
    it("3 per second from the very first request, anchored on the server's first answer", () => {
      const machine = toldPerSecond(3)
      const first = go(machine, 0)
      go(machine, 0)
      go(machine, 0)
      expect(held(machine, 0)).toStrictEqual({ until: 1_000, reason: "pacing" })
      machine.observe(first, answer(200, 40))
      expect(held(machine, 50)).toStrictEqual({ until: 1_040, reason: "pacing" })
      go(machine, 1_040)
      go(machine, 1_040)
      go(machine, 1_040)
      expect(held(machine, 1_040)).toStrictEqual({ until: 2_040, reason: "pacing" })
    })

    it("a configured window's phase gives way to the server's first rate-limit fields", () => {
      const machine = toldPerSecond(3)
      const first = go(machine, 0)
      machine.observe(first, answer(200, 400, { rateLimit: { remaining: 2, resetAt: 1_400, limit: 3 } }))
      go(machine, 400)
      go(machine, 400)
      // The configured window (0 to 1_000, anchored no earlier than 1_400) is not the server's: its reset is.
      expect(held(machine, 1_000)).toStrictEqual({ until: 1_400, reason: "pacing" })
    })
    it("windows told back to back follow the first one the server's answer bounded, with no news of their own", () => {
      // Told 3 per second, no rate-limit header. The first answer (at 40) bounds the first window's end by 1_040; the
      // second window's first answer comes late (at 1_090). Back to back, the third window opens at 2_040 all the
      // same; without `backToBack` it waits for 2_090 (that window may have begun when its first request came).
      const third = (backToBack: boolean) => {
        const machine = toldPerSecond(3, { backToBack })
        const first = [go(machine, 0), go(machine, 0), go(machine, 0)]
        machine.observe(first[0]!, answer(200, 40))
        const second = [go(machine, 1_040), go(machine, 1_040), go(machine, 1_040)]
        machine.observe(second[0]!, answer(200, 1_090))
        return held(machine, 1_090)
      }
      expect(third(true)).toStrictEqual({ until: 2_040, reason: "pacing" })
      expect(third(false)).toStrictEqual({ until: 2_090, reason: "pacing" })
    })

    it("windows told back to back, with rate-limit fields: each next quota goes at the last sure end plus a window", () => {
      // Told 40 per second; the server's resets are rounded up to the second (2_000, then 3_000). The first answer
      // bounds the window's end by 1_005. The next 40 go then; the 41st waits for 2_005 (not for the next window's
      // first answer), and that answer, at 1_030, does not move the end to 2_030.
      const machine = toldPerSecond(40, { backToBack: true })
      const first = Array.from({ length: 40 }, () => go(machine, 0))
      machine.observe(first[0]!, answer(200, 5, { rateLimit: { remaining: 39, resetAt: 2_000, limit: 40 } }))
      expect(held(machine, 5)).toStrictEqual({ until: 1_005, reason: "pacing" })
      const second = Array.from({ length: 40 }, () => go(machine, 1_005))
      expect(held(machine, 1_005)).toStrictEqual({ until: 2_005, reason: "pacing" })
      machine.observe(second[0]!, answer(200, 1_030, { rateLimit: { remaining: 39, resetAt: 3_000, limit: 40 } }))
      expect(held(machine, 1_030)).toStrictEqual({ until: 2_005, reason: "pacing" })
      for (let i = 0; i < 40; i++) go(machine, 2_005)
      expect(held(machine, 2_005)).toStrictEqual({ until: 3_005, reason: "pacing" })
    })
    it("windows told back to back: a quota that goes late in a window holds the next one a window after it", () => {
      // The first window ends by 1_040 (its first answer plus a window). The next quota goes late, at 2_000: the one
      // after it waits for 3_000, not for 2_040, or both could meet in one of the server's windows.
      const plain = toldPerSecond(3, { backToBack: true })
      plain.observe([go(plain, 0), go(plain, 0), go(plain, 0)][0]!, answer(200, 40))
      for (let i = 0; i < 3; i++) go(plain, 2_000)
      expect(held(plain, 2_040)).toStrictEqual({ until: 3_000, reason: "pacing" })
      // The same with rate-limit fields: the first window ends by 1_005; the next quota goes at 1_900.
      const fields = toldPerSecond(3, { backToBack: true })
      const rateLimit = { rateLimit: { remaining: 2, resetAt: 2_000, limit: 3 } }
      fields.observe([go(fields, 0), go(fields, 0), go(fields, 0)][0]!, answer(200, 5, rateLimit))
      for (let i = 0; i < 3; i++) go(fields, 1_900)
      expect(held(fields, 2_005)).toStrictEqual({ until: 2_900, reason: "pacing" })
    })

    it("windows told back to back: a 429 within the quota turns it off (each window is measured again)", () => {
      const machine = toldPerSecond(3, { backToBack: true })
      const first = [go(machine, 0), go(machine, 0), go(machine, 0)]
      machine.observe(first[0]!, answer(200, 40))
      // Refused, to come back at 1_000: the window ends then.
      machine.observe(first[1]!, answer(429, 41, { hintAt: 1_000 }))
      const second = [go(machine, 1_000), go(machine, 1_000), go(machine, 1_000)]
      machine.observe(second[0]!, answer(200, 1_090))
      // Measured again from the second window's first answer: 2_090, not 2_000.
      expect(held(machine, 1_090)).toStrictEqual({ until: 2_090, reason: "pacing" })
    })
  })

  describe("buckets the server names", () => {
    it("a bucket named by answers to requests sent under another counts those still on their way", () => {
      // Told 40 per second for the origin, the client sends 40 at once; their answers name the bucket "default".
      const machine = toldPerSecond(40)
      const sent = Array.from({ length: 40 }, () => go(machine, 0))
      const rateLimit = { remaining: 39, resetAt: 1_005, limit: 40 }
      machine.observe(sent[0]!, answer(200, 5, { rateLimit, bucket: "default" }))
      // 39 of the quota left, and 39 requests on their way: nothing more goes before the window ends.
      expect(held(machine, 5)).toStrictEqual({ until: 1_005, reason: "pacing" })
    })
  })

  describe("configured bursts", () => {
    it("a told window is counted from its first request: a quota sent late in one guessed window waits a window", () => {
      // Told 40 per second, and no rate-limit header: the first quota at 0, then nothing until 1_500. The server's
      // window that counts the requests at 1_500 may have begun with them: the next 40 go at 2_500, not at 2_000.
      const machine = toldPerSecond(40)
      for (let i = 0; i < 40; i++) go(machine, 0)
      for (let i = 0; i < 40; i++) go(machine, 1_500)
      expect(held(machine, 2_000)).toStrictEqual({ until: 2_500, reason: "pacing" })
      for (let i = 0; i < 40; i++) go(machine, 2_500)
    })

    it("10 per second, a burst of 1: one request every 100 ms, from the first", () => {
      const machine = toldPerSecond(10, { burst: 1 })
      go(machine, 0)
      expect(held(machine, 0)).toStrictEqual({ until: 100, reason: "pacing" })
      go(machine, 100)
      expect(held(machine, 150)).toStrictEqual({ until: 200, reason: "pacing" })
      // A pause does not save up more than the burst.
      go(machine, 900)
      expect(held(machine, 900)).toStrictEqual({ until: 1_000, reason: "pacing" })
    })

    it("a told spacing the server refuses without a hint widens by 2 % per refusal, up to a tenth", () => {
      const machine = toldPerSecond(10, { burst: 1 })
      machine.observe(go(machine, 0), answer(200, 1))
      machine.observe(go(machine, 100), answer(503, 101))
      go(machine, 200)
      expect(held(machine, 200)).toStrictEqual({ until: 302, reason: "pacing" })
      for (let t = 302; t < 2_000; t += 150) machine.observe(go(machine, t), answer(429, t + 1))
      // Twelve refusals: 100 ms x 1.02^12 is past the cap of 110 ms.
      const last = go(machine, 2_100)
      expect(held(machine, 2_100)).toStrictEqual({ until: 2_210, reason: "pacing" })
      machine.observe(last, answer(200, 2_101))
    })

    it("a burst of 3: three at once, then one every 100 ms", () => {
      const machine = toldPerSecond(10, { burst: 3 })
      go(machine, 0)
      go(machine, 0)
      go(machine, 0)
      expect(held(machine, 0)).toStrictEqual({ until: 100, reason: "pacing" })
      go(machine, 100)
      expect(held(machine, 100)).toStrictEqual({ until: 200, reason: "pacing" })
    })
  })

  describe("bounded memory", () => {
    it("maxOrigins: at most 100 partitions over 1000 distinct ones, the least recently used go first", () => {
      const machine = new State.CoordinatorState(config({ maxPartitions: 100, cautiousStart: false }))
      for (let i = 0; i < 1000; i++) go(machine, i, request("/", "first", `http://o${i}.test`))
      expect(machine.size(1000)).toBe(100)
    })

    it("routes: at most MAX_ROUTES per origin, the least recently used go first", () => {
      const machine = warmed()
      machine.observe(go(machine, 5, request("/old")), answer(200, 6, { bucket: "old" }))
      machine.observe(go(machine, 10, request("/search/code")), answer(200, 11, { bucket: "search" }))
      for (let i = 0; i < 2 * State.MAX_ROUTES; i++) {
        machine.observe(go(machine, 20 + i, request(`/r${i}`)), answer(200, 21 + i))
        // The search route is in use all along: it is kept, with the bucket it learned.
        if (i % 100 === 0) expect(go(machine, 20 + i, request("/search/code")).bucket).toBe("search")
      }
      // A route unused since is forgotten, with the bucket it had learned.
      expect(go(machine, 5_000, request("/old")).bucket).toBe("")
    })

    it("what it keeps of an origin does not grow with the length of the URL it came from", () => {
      // The heap is measured after V8's own collector ran: 10^4 origins first seen with 20 KB URLs (as long queries
      // or paths can be), and bucket names cut from 20 KB header values, must not hold those (400 MB), only the
      // origins, routes and names themselves.
      v8.setFlagsFromString("--expose-gc")
      const collect = vm.runInNewContext("gc") as () => void
      const held = (pad: string) => {
        const machine = new State.CoordinatorState(config({ cautiousStart: false }))
        collect()
        const before = process.memoryUsage().heapUsed
        for (let i = 0; i < 10_000; i++) {
          const url = `https://o${i}.example.test/items/${pad}?page=${i}`
          // (A bucket's name is cut from a header value as long.)
          const header = `bucket-of-origin-${i};${pad}`
          const bucket = header.slice(0, header.indexOf(";"))
          machine.observe(
            go(machine, i, CoordinatorPlan.requestOf(url, "first", undefined)),
            answer(200, i, { bucket })
          )
        }
        collect()
        const grown = process.memoryUsage().heapUsed - before
        expect(machine.size(10_000)).toBe(10_000)
        return grown
      }
      const short = held("")
      const long = held("x".repeat(20_000))
      expect(long).toBeLessThan(short + 10_000 * 1_000)
    })

    it("originTtl: a partition unused past the TTL is forgotten, whatever it learned (even a cooldown)", () => {
      const machine = warmed({ ttl: 60_000 })
      machine.observe(go(machine, 10), answer(503, 20, { hintAt: 50_000 }))
      expect(machine.size(60_021)).toBe(0)
    })
  })

  describe("routeOf", () => {
    it("writes the segments that name one item among many as ':', drops the query and fragment", () => {
      expect(State.routeOf("http://a.test:8080/items/12?x=1")).toBe("/items/:")
      expect(State.routeOf("https://u:p@a.test/search/code?q=secret")).toBe("/search/code")
      expect(State.routeOf("https://a.test")).toBe("/")
      expect(State.routeOf("https://a.test/repos/x-y/issues/42#c")).toBe("/repos/x-y/issues/:")
      expect(State.routeOf(`https://a.test/files/${"z".repeat(40)}`)).toBe("/files/:")
      // Names with a digit stay names: versions, tenants; numbers, UUIDs and hashes are items.
      expect(State.routeOf("https://a.test/v1/items/42")).toBe("/v1/items/:")
      expect(State.routeOf("https://a.test/t/dead.main.r1.client/items/7")).toBe("/t/dead.main.r1.client/items/:")
      expect(State.routeOf("https://a.test/jobs/3f2a9c1e-77b0-4d2a-9f00-5c1d2e3f4a5b")).toBe("/jobs/:")
      expect(State.routeOf("https://a.test/commits/9fb1108a")).toBe("/commits/:")
      expect(State.routeOf("https://a.test/users/u123456")).toBe("/users/:")
    })
  })

  describe("invariants over random sequences of answers and clocks", () => {
    const step = fc.record({
      dt: fc.nat(3_000),
      route: fc.constantFrom("/a/:", "/b", "/c/:"),
      attempt: fc.constantFrom<State.Attempt>("first", "retry", "retry-after-hint"),
      status: fc.constantFrom(200, 200, 200, 404, 429, 500, 503),
      hint: fc.option(fc.integer({ min: 0, max: 200_000 }), { nil: undefined }),
      remaining: fc.option(fc.nat(20), { nil: undefined }),
      reset: fc.nat(5_000),
      bucket: fc.option(fc.constantFrom("core", "search"), { nil: undefined }),
      settle: fc.constantFrom<State.Outcome | "answer">("answer", "answer", "success", "failure", "interrupted"),
      random: fc.double({ min: 0, max: 0.999, noNaN: true })
    })

    it.prop(
      "never admits before a cooldown it was told and shared; never holds past the cap; bounded memory",
      // (With or without a told limit, its windows back to back or not.)
      [fc.array(step, { maxLength: 200 }), fc.boolean(), fc.option(fc.boolean(), { nil: undefined })],
      ([steps, cautiousStart, backToBack]) => {
        const limits = new Map(
          backToBack === undefined ? [] : [[O, { requests: 5, window: 1_000, burst: 5, backToBack }]]
        )
        const machine = new State.CoordinatorState(
          config({ cautiousStart, maxPartitions: 3, maxSharedCooldown: 60_000, limits })
        )
        let now = 0
        let cooldownUntil = 0
        const out: Array<State.Permit> = []
        for (const s of steps) {
          now += s.dt
          const admission = machine.admit(request(s.route, s.attempt), now, s.random)
          if (admission instanceof State.Permit) {
            // Never before a shared cooldown the origin was told (routes of any bucket: hints below name none).
            expect(now).toBeGreaterThanOrEqual(cooldownUntil)
            out.push(admission)
          } else if (admission.until !== undefined && !admission.refused) {
            expect(admission.until - now).toBeLessThanOrEqual(60_000 + 5_000)
          }
          const permit = out.shift()
          if (permit === undefined) continue
          if (s.settle === "answer") {
            const hintAt = s.hint === undefined ? undefined : now + s.hint
            machine.observe(
              permit,
              answer(s.status, now, {
                hintAt,
                rateLimit: s.remaining === undefined
                  ? undefined
                  : { remaining: s.remaining, resetAt: now + s.reset, limit: undefined },
                bucket: s.bucket
              })
            )
            if (
              hintAt !== undefined && s.bucket === undefined && (s.status === 503 || s.status === 429) && s.hint! > 0 &&
              s.hint! <= 60_000
            ) cooldownUntil = Math.max(cooldownUntil, hintAt)
          } else {
            machine.settle(permit, s.settle, now)
          }
          expect(machine.size(now)).toBeLessThanOrEqual(3)
        }
      },
      { fastCheck: { numRuns: 500 } }
    )

    it.prop(
      "forgets a limit the server stopped sending: after one window of answers without headers nothing is paced",
      [fc.integer({ min: 1, max: 50 }), fc.integer({ min: 100, max: 5_000 })],
      ([remaining, reset]) => {
        const machine = new State.CoordinatorState(config())
        machine.observe(
          go(machine, 0),
          answer(200, 1, { rateLimit: { remaining, resetAt: 1 + reset, limit: undefined } })
        )
        // Past the window, its opener's answer carries no rate-limit fields.
        const opener = machine.admit(request(), 1 + reset, 0.5)
        expect(opener).toBeInstanceOf(State.Permit)
        machine.observe(opener as State.Permit, answer(200, 2 + reset))
        for (let i = 0; i < 200; i++) expect(machine.admit(request(), 2 + reset, 0.5)).toBeInstanceOf(State.Permit)
      }
    )
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
        "https://a.test/",
        // A URL the parser rejects is answered as itself, and never taken for the last origin.
        "https://a.test:65536",
        "https://a.test:65536?q"
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
      fc.constantFrom(
        "[::1]",
        "[0:0:0:0:0:0:0:1]",
        "[::ffff:1.2.3.4]",
        "[]",
        "xn--a",
        "xn--nxasmq6b",
        "a.test.",
        "1.2.3.4."
      )
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

  describe("visibility", () => {
    it.effect("holds{reason} counts each held call once, releases each release, refusals each refused retry", () =>
      isolatedMetrics(seeded(Effect.gen(function*() {
        const c = yield* Coordinator.make({ cautiousStart: false })
        const [cooldown0, releases0, refusals0] = [
          yield* holdsFor("cooldown"),
          yield* count(Coordinator.releases),
          yield* count(Coordinator.refusals)
        ]
        yield* told(c, { status: 429, headers: { "retry-after": "2" }, receivedAt: 0 })
        const five = yield* calls(c, 5)
        expect(yield* holdsFor("cooldown")).toBe(cooldown0 + 5)
        expect(yield* count(Coordinator.releases)).toBe(releases0)
        yield* TestClock.adjust(2000 + SPREAD)
        expect(five.times.filter((t) => t !== undefined).length).toBe(5)
        expect(yield* count(Coordinator.releases)).toBe(releases0 + 5)
        // 30 answers of a dead route: retries are refused (the seeded draws fall under 30/31).
        yield* Effect.forEach(
          Array.from({ length: 30 }, (_, i) => i),
          () => told(c, { status: 500, headers: {}, receivedAt: 3000 }, info("/dead"))
        )
        const refused = yield* Effect.exit(c.withPermit(info("/dead", "retry"), () => Effect.void))
        expect(refused).toStrictEqual(
          Exit.fail(new Coordinator.OriginHeld({ origin: O, until: 2020, reason: "retry-budget" }))
        )
        expect(yield* count(Coordinator.refusals)).toBe(refusals0 + 1)
      }))))

    it.effect("logs each hold at debug level, with the origin and never the path or query", () =>
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
          const c = yield* Coordinator.make({ cautiousStart: false })
          yield* told(c, { status: 429, headers: { "retry-after": "2" }, receivedAt: 0 })
          yield* calls(c, 1, info("/x?token=SECRET"))
        }).pipe(Effect.provide(Logger.add(logger)), Logger.withMinimumLogLevel(LogLevel.Debug))
        expect(logs).toStrictEqual([
          {
            level: "DEBUG",
            message: "holding a request to http://a.test: cooldown",
            annotations: { origin: O, reason: "cooldown", until: "1970-01-01T00:00:02.000Z", ends: "at the instant" }
          }
        ])
      })))

    it.effect("logs a held call again when it is held anew, for another reason or until another instant", () =>
      seeded(Effect.gen(function*() {
        const logs: Array<{ call: unknown; message: unknown; until: unknown; ends: unknown }> = []
        const logger = Logger.make(({ annotations, message }) => {
          const all = Object.fromEntries(annotations)
          const text = Array.isArray(message) ? message[0] : message
          logs.push({ call: all.call, message: text, until: all.until, ends: all.ends })
        })
        const holds = yield* isolatedMetrics(
          Effect.gen(function*() {
            const c = yield* Coordinator.make()
            const opener = yield* c.permit(info())
            const held = yield* Effect.forEach(
              [1, 2],
              (call) => Effect.fork(Effect.annotateLogs(c.withPermit(info(), () => Effect.void), "call", call))
            )
            yield* TestClock.adjust(0)
            // Both wait for the first answer (at most 5 s). It says the window is used up for a second: both are held
            // again, until the window's end.
            yield* c.observe(opener, {
              status: 200,
              headers: { "x-ratelimit-limit": "5", "x-ratelimit-remaining": "0", "x-ratelimit-reset": "1" },
              receivedAt: 0
            })
            yield* TestClock.adjust(0)
            yield* TestClock.adjust(1000 + SPREAD)
            yield* Effect.forEach(held, Fiber.join)
            return yield* holdsFor("pacing")
          }).pipe(Effect.scoped, Effect.provide(Logger.add(logger)), Logger.withMinimumLogLevel(LogLevel.Debug))
        )
        expect(logs).toStrictEqual([
          ...[1, 2].map((call) => ({
            call,
            message: "holding a request to http://a.test: learning",
            until: "1970-01-01T00:00:05.000Z",
            ends: "on an answer"
          })),
          ...[1, 2].map((call) => ({
            call,
            message: "holding a request to http://a.test: pacing",
            until: "1970-01-01T00:00:01.000Z",
            ends: "at the instant"
          }))
        ])
        // The metric counts held calls, each once, by the reason of its first hold.
        expect(holds).toBe(0)
      })))

    it.effect("adds span events for holds and releases", () =>
      seeded(Effect.gen(function*() {
        const events = yield* Effect.gen(function*() {
          const c = yield* Coordinator.make({ cautiousStart: false })
          yield* told(c, { status: 503, headers: { "retry-after": "1" }, receivedAt: 0 })
          const one = yield* calls(c, 1)
          yield* TestClock.adjust(1000 + SPREAD)
          yield* Fiber.join(one.fibers[0]!)
          const span = yield* Effect.currentSpan
          return (span as unknown as {
            readonly events: ReadonlyArray<readonly [string, bigint, Record<string, unknown>]>
          }).events
        }).pipe(Effect.withSpan("test"))
        expect(events.map(([name, , attributes]) => [name, attributes])).toStrictEqual([
          ["coordinator.hold", { "server.address": O, reason: "cooldown" }],
          ["coordinator.release", { "server.address": O }]
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

    it("throws InvalidRetryOptions listing each problem, naming the option", () => {
      expect(problems({ releaseSpread: -1 })).toStrictEqual(["releaseSpread must be finite and not negative, got -1"])
      expect(problems({ retryBudget: { k: 0 } })).toStrictEqual([
        "retryBudget.k must be a number from 1 to 1000, got 0"
      ])
      expect(problems({ limits: { [O]: { requests: 0, window: "1 second" } } })).toStrictEqual([
        "limits[\"http://a.test\"].requests must be a whole number of at least 1, got 0"
      ])
      expect(problems({ limits: { [O]: { requests: 10, window: "1 second", burst: 11 } } })).toStrictEqual([
        "limits[\"http://a.test\"].burst must be at most its requests, got 11"
      ])
      expect(problems({ maxOrigins: 0, originTtl: "-1 seconds", retryBudget: { window: 0 } })).toStrictEqual([
        "retryBudget.window must be more than zero",
        "originTtl must be finite and not negative, got \"-1 seconds\"",
        "maxOrigins must be a whole number of at least 1, got 0"
      ])
      expect(problems({ key: "authorization" as never, maxSharedCooldown: "soon" as never })).toStrictEqual([
        "maxSharedCooldown must be a duration (a number of milliseconds or a string like \"5 seconds\"), got \"soon\"",
        "key must be a function of the request, got \"authorization\""
      ])
    })

    it("layer throws InvalidRetryOptions when built from bad options", () => {
      expect(() => Coordinator.layer({ releaseSpread: -1 })).toThrow(RetryPolicy.InvalidRetryOptions)
    })

    it.effect("releaseSpread: 1 second spreads held calls over a second after the instant, by the seeded draws", () =>
      seeded(Effect.gen(function*() {
        const c = yield* Coordinator.make({ cautiousStart: false, releaseSpread: "1 second" })
        yield* told(c, { status: 429, headers: { "retry-after": "1" }, receivedAt: 0 })
        const expected = draws(3).map((r) => releasedAt(0, 1000, r, 1000))
        const three = yield* calls(c, 3)
        yield* TestClock.adjust(2000)
        expect(three.times).toStrictEqual(expected)
      })))

    it.effect("current is None without a layer; one layer's coordinator is shared by the whole program", () =>
      Effect.gen(function*() {
        expect(Option.isNone(yield* Coordinator.current)).toBe(true)
        const shared = yield* Effect.gen(function*() {
          const one = yield* Coordinator.Coordinator
          yield* one.withPermit(info(), () => Effect.void)
          const two = yield* Coordinator.Coordinator
          return yield* two.size
        }).pipe(Effect.provide(Layer.fresh(Coordinator.layer())))
        expect(shared).toBe(1)
      }))
  })

  describe("the service", () => {
    it.effect("holds a call through a cooldown on the TestClock and releases it at the instant plus the spread", () =>
      Effect.gen(function*() {
        const coordinator = yield* Coordinator.make({ cautiousStart: false, releaseSpread: 0 })
        const info = { method: "GET", url: `${O}/x`, headers: {}, attempt: "first" } as const
        yield* coordinator.withPermit(
          info,
          (permit) => coordinator.observe(permit, { status: 503, headers: { "retry-after": "2" }, receivedAt: 0 })
        )
        const fiber = yield* Effect.fork(
          coordinator.withPermit(info, () => Effect.clockWith((c) => c.currentTimeMillis))
        )
        yield* TestClock.adjust("1999 millis")
        expect(Option.isNone(yield* Fiber.poll(fiber))).toBe(true)
        yield* TestClock.adjust("1 millis")
        expect(yield* Fiber.join(fiber)).toBe(2000)
      }))

    it.effect("holds run on the monotonic clock: a wall clock set forward or back moves none (until reads the wall)", () =>
      Effect.gen(function*() {
        // The TestClock, its wall-clock reading moved by `step` (a clock set by NTP); its monotonic reading is not.
        const test = yield* Effect.clock
        const step = { millis: 0 }
        const adjust = (millis: number) => Effect.withClock(TestClock.adjust(millis), test)
        const stepped: Clock.Clock = {
          [Clock.ClockTypeId]: Clock.ClockTypeId,
          unsafeCurrentTimeMillis: () => test.unsafeCurrentTimeMillis() + step.millis,
          currentTimeMillis: Effect.sync(() => test.unsafeCurrentTimeMillis() + step.millis),
          unsafeCurrentTimeNanos: () => test.unsafeCurrentTimeNanos(),
          currentTimeNanos: test.currentTimeNanos,
          sleep: (duration) => test.sleep(duration)
        }
        const coordinator = yield* Coordinator.make({ cautiousStart: false, releaseSpread: 0 })
        const sentAt = coordinator.withPermit(info(), () => Effect.sync(() => test.unsafeCurrentTimeMillis()))
        yield* Effect.withClock(
          Effect.gen(function*() {
            const first = yield* coordinator.withPermit(info(), (permit) =>
              Effect.map(
                coordinator.observe(permit, { status: 503, headers: { "retry-after": "10" }, receivedAt: 0 }),
                () => permit.hintAt
              ))
            expect(first).toBe(10_000)
            // A second later the wall clock is set 8 s forward: it reads 9_000. The hold still lasts its 10 s.
            yield* adjust(1_000)
            step.millis = 8_000
            const held = yield* Effect.fork(sentAt)
            yield* adjust(1_000)
            expect(Option.isNone(yield* Fiber.poll(held))).toBe(true)
            // A call whose deadline (on the wall clock) comes first fails at once, saying when on the wall clock the
            // hold ends: 10 s after the 503, 18_000 by the clock set forward.
            const exit = yield* Effect.exit(coordinator.withPermit({ ...info(), deadline: 12_000 }, () => Effect.void))
            expect(exit).toStrictEqual(
              Exit.fail(new Coordinator.OriginHeld({ origin: O, until: 18_000, reason: "cooldown" }))
            )
            yield* adjust(7_999)
            expect(Option.isNone(yield* Fiber.poll(held))).toBe(true)
            yield* adjust(1)
            expect(yield* Fiber.join(held)).toBe(10_000)
            // Set back 12 s (the wall reads 6_000 at 10_000): a new hint of 2 s holds for 2 s, not 14.
            step.millis = -4_000
            const second = yield* coordinator.withPermit(info(), (permit) =>
              Effect.map(
                coordinator.observe(permit, { status: 503, headers: { "retry-after": "2" }, receivedAt: 6_000 }),
                () => permit.hintAt
              ))
            expect(second).toBe(8_000)
            const after = yield* Effect.fork(sentAt)
            yield* adjust(2_000)
            expect(yield* Fiber.join(after)).toBe(12_000)
          }),
          stepped
        )
      }))

    it.effect("a call held for an answer on its way waits for it within its deadline, and fails at the deadline", () =>
      Effect.gen(function*() {
        const coordinator = yield* Coordinator.make()
        const info = { method: "GET", url: `${O}/x`, headers: {}, attempt: "first" } as const
        // The first request of the origin is out; its answer ends the others' hold (whose instant, the first
        // request's patience of 5 s, only bounds that wait).
        const first = yield* Effect.fork(
          coordinator.withPermit(info, (permit) =>
            Effect.zipRight(
              Effect.sleep("300 millis"),
              coordinator.observe(permit, { status: 200, headers: {}, receivedAt: 300 })
            ))
        )
        yield* TestClock.adjust(0)
        const second = yield* Effect.fork(
          coordinator.withPermit({ ...info, deadline: 2_000 }, () => Clock.currentTimeMillis)
        )
        yield* TestClock.adjust(300)
        yield* Fiber.join(first)
        expect(yield* Fiber.join(second)).toBe(300)
        // With no answer coming, the call fails at its deadline, not at once.
        const silent = yield* Effect.fork(coordinator.withPermit({ ...info, url: `${O}/y` }, () => Effect.never))
        yield* TestClock.adjust(0)
        const third = yield* Effect.fork(
          coordinator.withPermit({ ...info, url: `${O}/y`, deadline: 1_300 }, () => Clock.currentTimeMillis).pipe(
            Effect.exit
          )
        )
        yield* TestClock.adjust(999)
        expect(third.unsafePoll()).toBe(null)
        yield* TestClock.adjust(1)
        expect(yield* Fiber.join(third)).toStrictEqual(
          Exit.fail(new Coordinator.OriginHeld({ origin: O, until: 5_300, reason: "learning" }))
        )
        yield* Fiber.interrupt(silent)
      }))

    it.effect("a hold past the call's deadline fails at once with OriginHeld, carrying the instant", () =>
      Effect.gen(function*() {
        const coordinator = yield* Coordinator.make({ cautiousStart: false })
        const info = { method: "GET", url: `${O}/x`, headers: {}, attempt: "first" } as const
        yield* coordinator.withPermit(
          info,
          (permit) => coordinator.observe(permit, { status: 503, headers: { "retry-after": "20" }, receivedAt: 0 })
        )
        const exit = yield* Effect.exit(coordinator.withPermit({ ...info, deadline: 10_000 }, () => Effect.void))
        expect(exit).toStrictEqual(
          Exit.fail(new Coordinator.OriginHeld({ origin: O, until: 20_000, reason: "cooldown" }))
        )
      }))

    it.effect("interrupting a held call gives up its place; the permit of an interrupted request is handed back", () =>
      Effect.gen(function*() {
        const coordinator = yield* Coordinator.make()
        const info = { method: "GET", url: `${O}/x`, headers: {}, attempt: "first" } as const
        const opener = yield* Effect.fork(coordinator.withPermit(info, () => Effect.never))
        yield* Effect.yieldNow()
        const waiter = yield* Effect.fork(coordinator.withPermit(info, () => Effect.succeed("sent")))
        yield* Effect.yieldNow()
        expect(Option.isNone(yield* Fiber.poll(waiter))).toBe(true)
        yield* Fiber.interrupt(opener)
        expect(yield* Fiber.join(waiter)).toBe("sent")
      }))

    it.effect("a reset past any date: the call with a deadline fails at once, saying until when; none dies", () =>
      Effect.gen(function*() {
        const coordinator = yield* Coordinator.make({ cautiousStart: false })
        const huge = { ratelimit: "limit=100, remaining=0, reset=999999999999999" }
        yield* told(coordinator, { status: 200, headers: huge, receivedAt: 0 })
        const exit = yield* Effect.exit(coordinator.withPermit({ ...info(), deadline: 10_000 }, () => Effect.void))
        // The instant is kept at the last one a Date holds.
        expect(Exit.isFailure(exit) && Cause.pretty(exit.cause)).toContain("held until +275760-09-13T00:00:00.000Z")
        // Without a deadline the call is held (and logged), not killed.
        const held = yield* Effect.fork(
          coordinator.withPermit(info(), () => Effect.void).pipe(Logger.withMinimumLogLevel(LogLevel.Debug))
        )
        yield* TestClock.adjust("2 seconds")
        expect(Option.isNone(yield* Fiber.poll(held))).toBe(true)
      }))

    it.effect("key: requests with different keys to one origin share nothing", () =>
      Effect.gen(function*() {
        const coordinator = yield* Coordinator.make({
          cautiousStart: false,
          key: (request) => request.headers["authorization"] as string | undefined
        })
        const info = (
          token: string
        ) => ({ method: "GET", url: `${O}/x`, headers: { authorization: token }, attempt: "first" } as const)
        yield* coordinator.withPermit(info("a"), (permit) =>
          coordinator.observe(permit, { status: 503, headers: { "retry-after": "20" }, receivedAt: 0 }))
        expect(
          yield* coordinator.withPermit(info("b"), () =>
            Effect.succeed("b sent"))
        ).toBe("b sent")
        expect(yield* coordinator.size).toBe(2)
      }))
  })
})
