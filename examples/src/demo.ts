/**
 * The demo: a local API allows 5 requests per second and answers the rest with 429, `Retry-After` and
 * `X-RateLimit-*`. A burst of 12 calls goes through `withStatusRetry()` twice: alone, then with the origin
 * coordinator. Every attempt and every wait is shown as it happens, then a summary of each round.
 */
import { NodeHttpClient, NodeRuntime } from "@effect/platform-node"
import * as HttpClient from "@effect/platform/HttpClient"
import { Coordinator } from "@effect-retry/core"
import { withStatusRetry } from "@effect-retry/platform"
import * as Effect from "effect/Effect"
import * as HashMap from "effect/HashMap"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import { type Arrival, serve } from "./server.js"

const LIMIT = 5
const WINDOW_MS = 1000
const CALLS = 12

let t0 = Date.now()
const clock = () => `+${((Date.now() - t0) / 1000).toFixed(3)}s`

/** Fixed windows of one second from the server's start; past the limit, 429 until the window ends. */
const rateLimiter = (startedAt: number) => {
  let window = -1
  let used = 0
  return (arrival: Arrival) => {
    const current = Math.floor((arrival.at - startedAt) / WINDOW_MS)
    if (current !== window) {
      window = current
      used = 0
    }
    const resetIn = String(Math.ceil((startedAt + (current + 1) * WINDOW_MS - arrival.at) / 1000))
    const allowed = used < LIMIT
    if (allowed) used++
    const headers = {
      "x-ratelimit-limit": String(LIMIT),
      "x-ratelimit-remaining": String(LIMIT - used),
      "x-ratelimit-reset": resetIn
    }
    return allowed ? { status: 200, headers } : { status: 429, headers: { ...headers, "retry-after": resetIn } }
  }
}

/** Prints what `withStatusRetry` and the coordinator log at debug level. */
const decisions = Logger.make(({ annotations, message }) => {
  const call = Option.getOrElse(HashMap.get(annotations, "call"), () => "?")
  const text = (Array.isArray(message) ? message.join(" ") : String(message)).replace(
    /http:\/\/127\.0\.0\.1:\d+(\/\S*)?/,
    (_, path: string | undefined) => path ?? "the API"
  )
  console.log(`${clock()}   client  call ${String(call).padStart(2)}: ${text}`)
})

export interface Round {
  readonly statuses: ReadonlyArray<number>
  readonly sent: number
  readonly elapsed: number
  readonly ideal: number
  readonly early: number
}

const round = (title: string, coordinator: Layer.Layer<never> | Layer.Layer<Coordinator.Coordinator>) =>
  Effect.gen(function*() {
    console.log(`\n== ${title}\n`)
    t0 = Date.now()
    const startedAt = Date.now()
    const server = yield* serve(rateLimiter(startedAt), (a) => {
      const told = a.reply.headers?.["retry-after"]
      console.log(`${clock()}   server  ${a.method} ${a.path} -> ${a.reply.status}${told ? `, Retry-After: ${told}` : ""}`)
    })
    const client = (yield* HttpClient.HttpClient).pipe(withStatusRetry())
    const began = Date.now()
    const results = yield* Effect.forEach(
      Array.from({ length: CALLS }, (_, i) => i + 1),
      (call) =>
        client.get(`${server.url}/items/${call}`).pipe(
          Effect.map((response) => response.status),
          Effect.catchTag("TooManyRequests", (e) => Effect.succeed(e.status)),
          Effect.annotateLogs("call", call)
        ),
      { concurrency: "unbounded" }
    ).pipe(Effect.provide(coordinator))
    const elapsed = Date.now() - began
    const sent = server.arrivals.length
    const perCall = results.map((_, i) => server.arrivals.filter((a) => a.path === `/items/${i + 1}`).length)
    const ideal = (Math.ceil(CALLS / LIMIT) - 1) * WINDOW_MS
    // A retry is early when it arrives before the window the server pointed to has opened.
    const early = server.arrivals.filter((a, i) => {
      const previous = server.arrivals.slice(0, i).reverse().find((p) => p.path === a.path)
      if (previous === undefined || previous.reply.status !== 429) return false
      const window = Math.floor((previous.at - startedAt) / WINDOW_MS)
      return a.at < startedAt + (window + 1) * WINDOW_MS
    }).length
    console.log(`\n  calls succeeded     ${results.filter((s) => s === 200).length} of ${CALLS}`)
    console.log(`  requests sent       ${sent} for ${CALLS} calls (${(sent / CALLS).toFixed(2)} per call; ideal 1.00)`)
    console.log(`  requests per call   ${perCall.join(" ")}`)
    console.log(`  total time          ${elapsed} ms (${(elapsed / ideal).toFixed(2)}x the ideal ${ideal} ms)`)
    console.log(`  early retries       ${early}`)
    return { statuses: results, sent, elapsed, ideal, early } satisfies Round
  }).pipe(Effect.scoped)

export const main = Effect.gen(function*() {
  console.log(
    `A local API allows ${LIMIT} requests per second (429 + Retry-After + X-RateLimit-* beyond). ` +
      `${CALLS} calls start at once.`
  )
  const alone = yield* round("withStatusRetry(): each call waits what the server told it", Layer.empty)
  const coordinated = yield* round(
    "withStatusRetry() + Coordinator.layer(): calls to the origin share what the server said",
    Coordinator.layer()
  )
  console.log(
    `\nSame calls, same server: ${alone.sent} requests in ${alone.elapsed} ms alone, ` +
      `${coordinated.sent} requests in ${coordinated.elapsed} ms coordinated.`
  )
  return { alone, coordinated }
}).pipe(
  Effect.provide(NodeHttpClient.layerUndici),
  Effect.provide(Logger.replace(Logger.defaultLogger, decisions)),
  Logger.withMinimumLogLevel(LogLevel.Debug)
)

if (import.meta.url === `file://${process.argv[1]}`) {
  NodeRuntime.runMain(main.pipe(Effect.asVoid), { disablePrettyLogger: true })
}
