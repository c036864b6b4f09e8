import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Logger from "effect/Logger"
import * as Option from "effect/Option"
import { main as demo, explain, row, useColour } from "../src/demo.js"
import { main as fleet } from "../src/fleet.js"
import { main as maintenanceWindow } from "../src/maintenance-window.js"
import { main as rateLimitedClient } from "../src/rate-limited-client.js"
import { main as tour } from "../src/tour.js"
import { main as typedErrors } from "../src/typed-errors.js"

// The examples print what they do; the tests keep the output quiet and check what they return.
/** Terminal colour codes (ESC [ ... m), removed before measuring a line. */
const COLOUR = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, "g")
const quiet = <A, E>(effect: Effect.Effect<A, E>, printed: Array<string> = []) =>
  Effect.acquireUseRelease(
    Effect.sync(() => {
      const log = console.log
      console.log = (...args: Array<unknown>) => {
        for (const line of args.join(" ").split("\n")) printed.push(line)
      }
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

  it.live(
    "demo: 12 calls through a 5-per-second limit, alone and coordinated, none early, within 15 s",
    () =>
      Effect.gen(function*() {
        const began = Date.now()
        const printed: Array<string> = []
        const { alone, coordinated } = yield* quiet(demo, printed)
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

        // Every line fits 80 columns; every wait is printed with its reason, in plain words.
        const lines = printed.map((line) => line.replace(COLOUR, ""))
        expect(lines.filter((line) => line.length > 80)).toEqual([])
        expect(lines.filter((line) => /learning|pacing|cooldown|retry-after\b/.test(line))).toEqual([])
        const second = lines.findIndex((line) => line.startsWith("2. "))
        const waits = (from: number, to: number) =>
          lines.slice(from, to).filter((line) => / call +\d+ waiting/.test(line))
        // Alone: one wait per retry, each until an instant the 429 gave.
        expect(waits(0, second)).toHaveLength(alone.sent - 12)
        for (const line of waits(0, second)) {
          expect(line).toMatch(/ call +\d+ waiting until \d\d:\d\d:\d\d\.\d{3}: the 429 said Retry-After$/)
        }
        // Coordinated: calls 2 to 12 wait for the first answer; 6 to 12, past the first window, are then held until
        // its end: each call's later holds are printed, not only its first.
        const held = waits(second, lines.length)
        for (let call = 2; call <= 12; call++) {
          expect(held).toContainEqual(expect.stringMatching(new RegExp(` call +${call} waiting for an answer to show`)))
        }
        for (let call = 6; call <= 12; call++) {
          expect(held).toContainEqual(
            expect.stringMatching(new RegExp(` call +${call} waiting: the server's window is used up until \\d\\d:`))
          )
        }
      }),
    20_000
  )

  it("demo: every kind of wait fits 80 columns; colour only on a terminal without NO_COLOR", () => {
    const at = Date.UTC(2026, 0, 1, 23, 59, 59, 999)
    const iso = new Date(at).toISOString()
    const texts = [
      ...["retry-after", "retry-after-ms", "ratelimit", "ratelimit-reset", "x-ratelimit-reset", "backoff"].flatMap(
        (source) =>
          (source === "backoff" ? [429, 503, "transport"] : [429, 503]).map((status) =>
            explain("retrying GET http://127.0.0.1:1/items/1 in 1000 ms (x)", { delayMillis: 1000, source, status }, at)
          )
      ),
      ...["cooldown", "pacing", "learning"].flatMap((reason) =>
        ["on an answer", "at the instant"].map((ends) =>
          explain("holding a request to http://127.0.0.1:1: x", { reason, until: iso, ends }, at)
        )
      )
    ]
    for (const text of texts) {
      expect(text).toMatch(/^waiting[: ]/)
      expect(row(at, "call 12", text).replace(COLOUR, "").length).toBeLessThanOrEqual(80)
    }
    expect(texts).toContainEqual(
      expect.stringMatching(/^waiting until \d\d:\d\d:\d\d\.\d{3}: the 503 said X-RateLimit-Reset$/)
    )
    expect(useColour({ isTTY: true }, {})).toBe(true)
    expect(useColour({ isTTY: true }, { NO_COLOR: "1" })).toBe(false)
    expect(useColour({ isTTY: true }, { NO_COLOR: "" })).toBe(true)
    expect(useColour({ isTTY: false }, {})).toBe(false)
    expect(useColour({}, {})).toBe(false)
  })

  it.live(
    "fleet: three workers on one limit overrun it alone, and keep to it sharing Redis",
    () =>
      Effect.gen(function*() {
        const { alone, shared } = yield* quiet(fleet)
        // Alone, each worker learned the limit from its own answers: the fleet sent more than it was allowed.
        expect(alone.refused).toBeGreaterThan(0)
        expect(alone.requests).toBe(30 + alone.refused)
        // Sharing Redis, one request per call and none refused.
        expect(shared).toEqual({ requests: 30, refused: 0 })
      }),
    20_000
  )

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
