import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as HttpClient from "effect/http/HttpClient"
import * as HttpClientResponse from "effect/http/HttpClientResponse"
import * as Random from "effect/Random"
import * as TestClock from "effect/testing/TestClock"
import { describe, expect, it } from "vitest"
import * as Shared from "../../engine/test/shared/coordinator.js"
import { Coordinator, withStatusRetry } from "../src/index.js"

/** Every draw of `Random.next` is `value`. */
const fixedRandom = (value: number): Random.Random => ({ nextDoubleUnsafe: () => value, nextIntUnsafe: () => 0 })

/** Runs one case of the shared description on the TestClock: when each call was let go, or how it was refused. */
const runCase = (c: Shared.Case) =>
  Effect.gen(function*() {
    const coordinator = yield* Coordinator.make(Shared.optionsOf(c))
    const outcomes: Record<string, Shared.Outcome> = {}
    const call = (spec: Shared.Call) =>
      coordinator.withPermit(Shared.requestOf(spec), (permit) =>
        Effect.gen(function*() {
          outcomes[spec.id] = { sentAt: yield* Clock.currentTimeMillis }
          if (spec.answer === undefined) return yield* Effect.never
          yield* Effect.sleep(spec.answer.after)
          yield* coordinator.observe(permit, {
            status: spec.answer.status,
            headers: spec.answer.headers ?? {},
            receivedAt: yield* Clock.currentTimeMillis
          })
        })).pipe(
          Effect.catchTag("OriginHeld", (e) =>
            Effect.map(Clock.currentTimeMillis, (now) => {
              outcomes[spec.id] = { refusedAt: now, reason: e.reason, until: e.until }
            }))
        )
    for (const spec of c.calls) {
      yield* TestClock.adjust(spec.at - (yield* Clock.currentTimeMillis))
      yield* Effect.forkChild(call(spec))
      yield* TestClock.adjust(0)
    }
    yield* TestClock.adjust(Shared.END - (yield* Clock.currentTimeMillis))
    return Object.fromEntries(c.calls.map((spec) => [spec.id, outcomes[spec.id] ?? "waiting"]))
  }).pipe(
    Effect.provideService(Random.Random, fixedRandom(c.random ?? 0.5)),
    Effect.provide(TestClock.layer()),
    Effect.runPromise
  )

describe("Coordinator (Effect 4), on the shared description", () => {
  for (const c of Shared.cases) {
    it(c.name, async () => {
      expect(Shared.interchangeable(c, await runCase(c))).toStrictEqual(Shared.interchangeable(c, c.expected))
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
