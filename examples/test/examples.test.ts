import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Logger from "effect/Logger"
import * as Option from "effect/Option"
import { main as demo } from "../src/demo.js"
import { main as fleet } from "../src/fleet.js"
import { main as maintenanceWindow } from "../src/maintenance-window.js"
import { main as rateLimitedClient } from "../src/rate-limited-client.js"
import { main as tour } from "../src/tour.js"
import { main as typedErrors } from "../src/typed-errors.js"

// The examples print what they do; the tests keep the output quiet and check what they return.
const quiet = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.acquireUseRelease(
    Effect.sync(() => {
      const log = console.log
      console.log = () => {}
      return log
    }),
    () => Effect.provide(effect, Logger.remove(Logger.defaultLogger)),
    (log) => Effect.sync(() => (console.log = log))
  )

describe("examples", () => {
  it.live("tour: core on its own", () =>
    Effect.gen(function*() {
      const summary = yield* quiet(tour)
      expect(summary).toEqual({
        seconds: Option.some(7000),
        skewSafe: Option.some(2000),
        malformed: true,
        hint: Option.some("x-ratelimit-reset"),
        notFound: Option.some(["NotFound", "transient"]),
        result: "ok",
        calls: 2,
        backoff: [100, 200, 400, 800]
      })
    }), 20_000)

  it.live("demo: 12 calls through a 5-per-second limit, alone and coordinated, none early, within 15 s", () =>
    Effect.gen(function*() {
      const began = Date.now()
      const { alone, coordinated } = yield* quiet(demo)
      for (const round of [alone, coordinated]) {
        expect(round.statuses).toEqual(Array(12).fill(200))
        expect(round.early).toBe(0)
        // The last of three windows opens 2 s in: nothing can finish before it.
        expect(round.elapsed).toBeGreaterThanOrEqual(2000)
      }
      // Alone, every call that met a full window was told 429 and came back: 12 calls, 7 + 2 extra requests.
      expect(alone.sent).toBeGreaterThanOrEqual(12 + 7)
      // Coordinated, the first answer taught the limit: one request per call.
      expect(coordinated.sent).toBe(12)
      expect(coordinated.elapsed).toBeLessThan(alone.ideal * 1.1)
      expect(Date.now() - began).toBeLessThan(15_000)
    }), 20_000)

  it.live("fleet: three workers on one limit overrun it alone, and keep to it sharing Redis", () =>
    Effect.gen(function*() {
      const { alone, shared } = yield* quiet(fleet)
      // Alone, each worker learned the limit from its own answers: the fleet sent more than it was allowed.
      expect(alone.refused).toBeGreaterThan(0)
      expect(alone.requests).toBe(30 + alone.refused)
      // Sharing Redis, one request per call and none refused.
      expect(shared).toEqual({ requests: 30, refused: 0 })
    }), 20_000)

  it.live("rate-limited client: 5 products through a 3-per-second limit", () =>
    Effect.gen(function*() {
      const { products, requests } = yield* quiet(rateLimitedClient)
      expect(products).toBe(5)
      expect(requests).toBe(7)
    }), 20_000)

  it.live("maintenance window: waits out a short window, re-schedules a long one", () =>
    Effect.gen(function*() {
      const result = yield* quiet(maintenanceWindow)
      expect(result.status).toBe(200)
      expect(result.shortRequests).toBe(2)
      expect(result.afterEnd).toBeGreaterThanOrEqual(0)
      // Never early. Late by at most the Date header's one-second resolution plus the spread (2% of a 2-3 s hint).
      expect(result.afterEnd).toBeLessThan(1000 + 60 + 100)
      expect(result.longRequests).toBe(1)
      expect(result.rescheduled).toMatch(/^re-schedule at \d{4}-.*\(retry-after-too-long\)$/)
    }), 20_000)

  it.live("typed errors: each status becomes the outcome its handler chose", () =>
    Effect.gen(function*() {
      const { outcomes, requests } = yield* quiet(typedErrors)
      expect(outcomes).toEqual([
        "found {\"id\":\"1\",\"name\":\"widget\"}",
        "not found",
        "not allowed (403)",
        "unavailable (503, 4 attempts, attempts)"
      ])
      // 1 + 1 + 1 for the first three, 4 attempts for the unavailable one.
      expect(requests).toBe(7)
    }), 20_000)
})
