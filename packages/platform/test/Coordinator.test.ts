/**
 * The origin coordinator under withStatusRetry, against real servers on 127.0.0.1.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import { Coordinator, StatusError } from "@effect-retry/core"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { type StatusRetry, withStatusRetry } from "../src/index.js"
import { type Arrival, type Reply, serve } from "./utils/server.js"

const clients = [
  { name: "node:http", layer: NodeHttpClient.layer },
  { name: "undici", layer: NodeHttpClient.layerUndici }
] as const

const LIMIT = 5
const CALLS = 15
/** Three windows are needed; the last opens 2 s after the first request. */
const IDEAL_MS = (Math.ceil(CALLS / LIMIT) - 1) * 1000

/**
 * A fixed window of LIMIT requests per second, counted from the first request; past it, 429. Every answer carries
 * `X-RateLimit-*`; `retryAfter` adds `Retry-After` to the 429s.
 */
const rateLimited = (retryAfter: boolean) => {
  let start: number | undefined
  const used = new Map<number, number>()
  const windowOf = (at: number) => Math.floor((at - start!) / 1000)
  const reply = (a: Arrival): Reply => {
    start ??= a.arrivedAt
    const window = windowOf(a.arrivedAt)
    const count = (used.get(window) ?? 0) + 1
    used.set(window, count)
    const reset = String(Math.ceil((start + (window + 1) * 1000 - a.arrivedAt) / 1000))
    const headers = {
      "x-ratelimit-limit": String(LIMIT),
      "x-ratelimit-remaining": String(Math.max(0, LIMIT - count)),
      "x-ratelimit-reset": reset
    }
    if (count <= LIMIT) return { status: 200, headers, body: "ok" }
    return { status: 429, headers: retryAfter ? { ...headers, "retry-after": reset } : headers }
  }
  return { reply, windowOf, start: () => start! }
}

const burst = (client: HttpClient.HttpClient.With<unknown>, url: (path: string) => string, calls: number) =>
  Effect.forEach(
    Array.from({ length: calls }, (_, i) => i),
    (i) =>
      client.get(url(`/items/${i}`)).pipe(
        Effect.map((r) => r.status),
        Effect.catchIf(StatusError.isStatusError, (e) => Effect.succeed(e.status))
      ),
    { concurrency: "unbounded" }
  )

const retrying = (options?: StatusRetry.Options) =>
  Effect.map(HttpClient.HttpClient, (client) => withStatusRetry(options)(client))

describe.each(clients)("the coordinator through $name", ({ layer }) => {
  for (const retryAfter of [true, false]) {
    it.scopedLive(
      `rate limit ${
        retryAfter ? "with Retry-After" : "with only X-RateLimit-*"
      }: one request per call, none early, on time`,
      () =>
        Effect.gen(function*() {
          const limiter = rateLimited(retryAfter)
          const server = yield* serve(limiter.reply)
          const client = yield* retrying()
          const began = Date.now()
          const statuses = yield* burst(client, server.url, CALLS)
          const elapsed = Date.now() - began
          expect(statuses).toEqual(Array(CALLS).fill(200))
          // Learned from the first answer: no call needed a second request.
          expect(server.arrivals.length).toBe(CALLS)
          expect(server.arrivals.filter((a) => a.path.startsWith("/items")).map((a) => a.nth)).toEqual(
            Array(CALLS).fill(0)
          )
          // No window got more than the limit.
          const perWindow = new Map<number, number>()
          for (const a of server.arrivals) {
            const w = limiter.windowOf(a.arrivedAt)
            perWindow.set(w, (perWindow.get(w) ?? 0) + 1)
          }
          expect(Math.max(...perWindow.values())).toBeLessThanOrEqual(LIMIT)
          expect(elapsed).toBeGreaterThanOrEqual(IDEAL_MS)
          expect(elapsed).toBeLessThan(IDEAL_MS + 400)
        }).pipe(Effect.provide(Coordinator.layer()), Effect.provide(layer)),
      15_000
    )
  }
})

describe("the coordinator against real servers (undici)", () => {
  it.scopedLive(
    "without it, the same burst costs a request per 429 (the baseline the coordinator removes)",
    () =>
      Effect.gen(function*() {
        const limiter = rateLimited(true)
        const server = yield* serve(limiter.reply)
        const client = yield* retrying()
        const statuses = yield* burst(client, server.url, CALLS)
        expect(statuses).toEqual(Array(CALLS).fill(200))
        // 10 of the 15 met a full first window, 5 of those a full second one.
        expect(server.arrivals.length).toBeGreaterThanOrEqual(CALLS + 10)
      }).pipe(Effect.provide(NodeHttpClient.layerUndici)),
    15_000
  )

  it.scopedLive(
    "a dead origin: the adaptive retry budget refuses almost every retry (at most 1.2 requests per call)",
    () =>
      Effect.gen(function*() {
        const server = yield* serve(() => ({ status: 503, body: "down" }))
        const client = yield* retrying()
        const calls = 40
        const errors = yield* Effect.forEach(
          Array.from({ length: calls }, (_, i) => i),
          (i) => Effect.flip(client.get(server.url(`/items/${i}`))),
          { concurrency: "unbounded" }
        )
        const reasons = errors.map((e) => (StatusError.isStatusError(e) ? Option.getOrNull(e.stopReason) : "other"))
        expect(server.arrivals.length / calls).toBeLessThanOrEqual(1.2)
        expect(reasons.filter((r) => r === "retry-budget").length).toBeGreaterThanOrEqual(calls - 8)
        expect(reasons.every((r) => r === "retry-budget" || r === "attempts")).toBe(true)
      }).pipe(Effect.provide(Coordinator.layer()), Effect.provide(NodeHttpClient.layerUndici)),
    15_000
  )

  it.scopedLive(
    "a server that fails 30 % of requests: the retry budget refuses no retry",
    () =>
      Effect.gen(function*() {
        let n = 0
        // Every third-or-so request fails, deterministically: 3 of each 10.
        const server = yield* serve(() => (n++ % 10 < 3 ? { status: 500, body: "oops" } : { status: 200, body: "ok" }))
        const client = yield* retrying()
        const outcomes = yield* Effect.forEach(
          Array.from({ length: 100 }, (_, i) => i),
          (i) =>
            client.get(server.url(`/items/${i}`)).pipe(
              Effect.map((r) => String(r.status)),
              Effect.catchIf(StatusError.isStatusError, (e) => Effect.succeed(Option.getOrElse(e.stopReason, () => "")))
            ),
          { concurrency: "unbounded" }
        )
        // No retry is refused by the budget; a call may still run out of its 4 attempts on this fixed pattern.
        expect(outcomes.filter((o) => o !== "200" && o !== "attempts")).toEqual([])
        expect(outcomes.filter((o) => o === "200").length).toBeGreaterThanOrEqual(95)
      }).pipe(Effect.provide(Coordinator.layer()), Effect.provide(NodeHttpClient.layerUndici)),
    15_000
  )

  it.scopedLive(
    "a 503 with Retry-After holds fresh calls to the origin until the instant; another origin is not held",
    () =>
      Effect.gen(function*() {
        let until = 0
        const down = yield* serve((a) => {
          if (a.index === 0) until = a.arrivedAt + 1000
          return a.arrivedAt < until ? { status: 503, headers: { "retry-after": "1" } } : { status: 200, body: "ok" }
        })
        const other = yield* serve(() => ({ status: 200, body: "ok" }))
        const client = yield* retrying()
        const first = yield* Effect.fork(client.get(down.url("/first")))
        yield* Effect.sleep("100 millis")
        // A fresh call to the same origin while it cools down, and one to another origin.
        const began = Date.now()
        const fresh = yield* Effect.fork(client.get(down.url("/fresh")))
        const elsewhere = yield* client.get(other.url("/elsewhere"))
        expect(elsewhere.status).toBe(200)
        expect(Date.now() - began).toBeLessThan(500)
        expect((yield* first).status).toBe(200)
        expect((yield* fresh).status).toBe(200)
        // The fresh call was held: nothing reached the origin between the 503 and the instant it gave.
        const told = down.arrivals[0]!.respondedAt! + 1000
        for (const a of down.arrivals.slice(1)) expect(a.arrivedAt).toBeGreaterThanOrEqual(told - 5)
        expect(down.on("/fresh").length).toBe(1)
      }).pipe(Effect.provide(Coordinator.layer()), Effect.provide(NodeHttpClient.layerUndici)),
    15_000
  )

  it.scopedLive(
    "an origin that asks for an hour: the call that heard it fails at once, the hint is not shared",
    () =>
      Effect.gen(function*() {
        let first = true
        const server = yield* serve(() => {
          const answer = first ? { status: 429, headers: { "retry-after": "3000000" } } : { status: 200, body: "ok" }
          first = false
          return answer
        })
        const client = yield* retrying()
        const began = Date.now()
        const told = yield* Effect.flip(client.get(server.url("/first")))
        const next = yield* client.get(server.url("/second"))
        expect(Date.now() - began).toBeLessThan(1_000)
        expect(StatusError.isStatusError(told) && Option.getOrNull(told.stopReason)).toBe("retry-after-too-long")
        // Longer than the shared cap (1 minute): only the call that heard it waits for it; the next one is sent.
        expect(next.status).toBe(200)
        expect(server.arrivals.map((a) => a.path)).toEqual(["/first", "/second"])
      }).pipe(Effect.provide(Coordinator.layer()), Effect.provide(NodeHttpClient.layerUndici)),
    15_000
  )

  it.scopedLive(
    "a known limit paces from the first request: 3 per second, no 429 at all",
    () =>
      Effect.gen(function*() {
        let start: number | undefined
        const used = new Map<number, number>()
        const server = yield* serve((a) => {
          start ??= a.arrivedAt
          const w = Math.floor((a.arrivedAt - start) / 1000)
          const n = (used.get(w) ?? 0) + 1
          used.set(w, n)
          return n <= 3 ? { status: 200, body: "ok" } : { status: 429, headers: { "retry-after": "1" } }
        })
        const origin = server.url("").replace(/\/$/, "")
        const client = yield* retrying()
        const statuses = yield* burst(client, server.url, 7).pipe(
          Effect.provide(Coordinator.layer({ limits: { [origin]: { requests: 3, window: "1 second" } } }))
        )
        expect(statuses).toEqual(Array(7).fill(200))
        expect(server.arrivals.length).toBe(7)
      }).pipe(Effect.provide(NodeHttpClient.layerUndici)),
    15_000
  )

  it.scopedLive(
    "a new route of a warm origin: one request first, then a ramp; every held call is let through",
    () =>
      Effect.gen(function*() {
        // Each wave of the new route is answered 100 ms after it arrived: a wave sent at once arrives well within
        // that, however loaded the machine, and the next one comes only after its answers.
        const server = yield* serve((a) => ({
          status: 200,
          body: "ok",
          delayMillis: a.path.startsWith("/orders") ? 100 : 0
        }))
        const client = yield* retrying()
        yield* Effect.gen(function*() {
          // The origin's cautious start ends on the first route.
          for (let i = 0; i < 16; i++) yield* client.get(server.url(`/warm/${i}`))
          const arrived = server.arrivals.length
          const statuses = yield* Effect.forEach(
            Array.from({ length: 60 }, (_, i) => i),
            (i) => Effect.map(client.get(server.url(`/orders/${i}`)), (r) => r.status),
            { concurrency: "unbounded" }
          )
          expect(statuses).toEqual(Array(60).fill(200))
          const orders = server.arrivals.slice(arrived).map((a) => a.arrivedAt)
          expect(orders.length).toBe(60)
          // Its first request alone, then four, each wave after answers of the one before (100 ms each).
          expect(orders.filter((at) => at < orders[0]! + 100).length).toBe(1)
          expect(orders.filter((at) => at < orders[1]! + 100).length).toBe(5)
        }).pipe(Effect.provide(Coordinator.layer()))
      }).pipe(Effect.provide(NodeHttpClient.layerUndici)),
    15_000
  )
})
