/**
 * The demo: a local API that allows 5 requests per second and answers the rest with 429, `Retry-After` and
 * `X-RateLimit-*`; a burst of 12 calls goes through `withStatusRetry()`, and every attempt and wait is shown as it
 * happens, then a summary.
 */
import { NodeHttpClient, NodeRuntime } from "@effect/platform-node"
import * as HttpClient from "@effect/platform/HttpClient"
import { withStatusRetry } from "@effect-retry/platform"
import * as Effect from "effect/Effect"
import * as HashMap from "effect/HashMap"
import * as Option from "effect/Option"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import { type Arrival, serve } from "./server.js"

const LIMIT = 5
const WINDOW_MS = 1000
const CALLS = 12

const t0 = Date.now()
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
    const resetAt = startedAt + (current + 1) * WINDOW_MS
    const remaining = Math.max(0, LIMIT - used - 1)
    const headers = {
      "x-ratelimit-limit": String(LIMIT),
      "x-ratelimit-remaining": String(used < LIMIT ? remaining : 0),
      "x-ratelimit-reset": String(Math.ceil((resetAt - arrival.at) / 1000))
    }
    if (used < LIMIT) {
      used++
      return { status: 200, headers }
    }
    return {
      status: 429,
      headers: { ...headers, "retry-after": String(Math.ceil((resetAt - arrival.at) / 1000)) }
    }
  }
}

/** Prints the retry decisions `withStatusRetry` logs at debug level. */
const decisions = Logger.make(({ annotations, message }) => {
  const call = Option.getOrElse(HashMap.get(annotations, "call"), () => "?")
  const text = Array.isArray(message) ? message.join(" ") : String(message)
  console.log(`${clock()}   client  call ${String(call).padStart(2)}: ${text.replace(/ http:\/\/[^ ]+/, "")}`)
})

export const main = Effect.gen(function*() {
  const startedAt = Date.now()
  const server = yield* serve(rateLimiter(startedAt), (a) => {
    const told = a.reply.headers?.["retry-after"]
    console.log(`${clock()}   server  ${a.method} ${a.path} -> ${a.reply.status}${told ? `, Retry-After: ${told}` : ""}`)
  })
  console.log(
    `A local API allows ${LIMIT} requests per ${WINDOW_MS / 1000} s (429 + Retry-After beyond). Sending ${CALLS} calls at once through withStatusRetry().\n`
  )
  const client = (yield* HttpClient.HttpClient).pipe(withStatusRetry())
  const began = Date.now()
  const results = yield* Effect.forEach(
    Array.from({ length: CALLS }, (_, i) => i + 1),
    (call) =>
      client.get(`${server.url}/items/${call}`).pipe(
        Effect.map((response) => ({ call, status: response.status, at: Date.now() })),
        Effect.catchTags({
          TooManyRequests: (e) => Effect.succeed({ call, status: e.status, at: Date.now() })
        }),
        Effect.annotateLogs("call", call)
      ),
    { concurrency: "unbounded" }
  )
  const elapsed = Date.now() - began
  const sent = server.arrivals.length
  const perCall = results.map(({ call }) => server.arrivals.filter((a) => a.path === `/items/${call}`).length)
  const ideal = (Math.ceil(CALLS / LIMIT) - 1) * WINDOW_MS
  console.log(`\nSummary`)
  console.log(`  calls succeeded        ${results.filter((r) => r.status === 200).length} of ${CALLS}`)
  console.log(`  requests sent          ${sent} for ${CALLS} calls (${(sent / CALLS).toFixed(2)} per call)`)
  console.log(`  requests per call      ${perCall.join(" ")}`)
  console.log(`  total time             ${elapsed} ms; ideal ${ideal} ms (the last of ${Math.ceil(CALLS / LIMIT)} windows opens then)`)
  const early = server.arrivals.filter((a, i) => {
    const previous = server.arrivals.slice(0, i).reverse().find((p) => p.path === a.path)
    if (previous === undefined || previous.reply.status !== 429) return false
    const window = Math.floor((previous.at - startedAt) / WINDOW_MS)
    return a.at < startedAt + (window + 1) * WINDOW_MS
  }).length
  console.log(`  retries before the instant the server gave   ${early}`)
  return { results, sent, elapsed, early }
}).pipe(
  Effect.scoped,
  Effect.provide(NodeHttpClient.layerUndici),
  Effect.provide(Logger.replace(Logger.defaultLogger, decisions)),
  Logger.withMinimumLogLevel(LogLevel.Debug)
)

if (import.meta.url === `file://${process.argv[1]}`) {
  NodeRuntime.runMain(main.pipe(Effect.asVoid), { disablePrettyLogger: true })
}
