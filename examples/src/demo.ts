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
import { type Arrival, serve } from "./server.js"

const LIMIT = 5
const WINDOW_MS = 1000
const CALLS = 12

/** Colour when writing to a terminal, none when piped or when `NO_COLOR` is set (to anything but ""). */
export const useColour = (stream: { readonly isTTY?: boolean }, env: Record<string, string | undefined>): boolean =>
  stream.isTTY === true && (env.NO_COLOR ?? "") === ""

const colour = useColour(process.stdout, process.env)
const paint = (code: string) => (text: string) => colour ? `\x1b[${code}m${text}\x1b[0m` : text
const bold = paint("1")
const dim = paint("2")
const green = paint("32")
const yellow = paint("33")
const cyan = paint("36")

const say = (line = "") => console.log(line)

/** Wall-clock time of day, to the millisecond: 12:00:01.000. */
const time = (at: number) => {
  const d = new Date(at)
  const two = (n: number) => String(n).padStart(2, "0")
  const millis = String(d.getMilliseconds()).padStart(3, "0")
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}.${millis}`
}

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

/** The header a retry's wait came from, as a reader knows it. */
const headerOf: Record<string, string> = {
  "retry-after": "Retry-After",
  "retry-after-ms": "Retry-After-Ms",
  "ratelimit": "RateLimit",
  "ratelimit-reset": "RateLimit-Reset",
  "x-ratelimit-reset": "X-RateLimit-Reset"
}

/** Why a call stopped retrying, in plain words. */
const stops: Record<string, string> = {
  "permanent": "the status is not worth retrying",
  "attempts": "no attempts left",
  "timeout": "no time left",
  "retry-after-too-long": "the server asked for too long a wait",
  "unsafe-method": "the request is not safe to send twice",
  "retry-budget": "the server accepts too few requests",
  "not-retryable": "the error is not worth retrying"
}

/** Why a call waits, in plain words, from what `withStatusRetry` and the coordinator log at debug level. */
export const explain = (message: string, annotations: Record<string, unknown>, now: number): string => {
  const until = (at: unknown) =>
    typeof at === "string" && !Number.isNaN(Date.parse(at)) ? time(Date.parse(at)) : "an answer"
  if (message.startsWith("retrying")) {
    const at = time(now + Number(annotations.delayMillis))
    const source = String(annotations.source)
    const status = String(annotations.status)
    return source === "backoff"
      ? `waiting until ${at}: backing off after ${status === "transport" ? "a failure" : `a ${status}`}`
      : `waiting until ${at}: the ${status} said ${headerOf[source] ?? source}`
  }
  if (message.startsWith("holding")) {
    const at = until(annotations.until)
    if (annotations.ends === "on an answer") {
      // Held behind a request already sent: its answer says more of the server's limit.
      return annotations.reason === "pacing"
        ? "waiting for the first answer in the new window"
        : "waiting for an answer to show the server's limit"
    }
    return annotations.reason === "cooldown"
      ? `waiting until ${at}: the server asked for a pause`
      : `waiting: the server's window is used up until ${at}`
  }
  if (message.startsWith("giving up")) return `giving up: ${stops[String(annotations.reason)] ?? annotations.reason}`
  return message.replace(/http:\/\/127\.0\.0\.1:\d+(\/\S*)?/, (_, path: string | undefined) => path ?? "the API")
}

/** One line of the log: the time, who (a call or the server), what happened. */
export const row = (at: number, who: string, text: string) => `${dim(time(at))} ${who.padEnd(7)} ${text}`

/** Prints each wait of each call, with its reason. */
const decisions = Logger.make(({ annotations, message }) => {
  const all = Object.fromEntries(HashMap.toEntries(annotations))
  const text = Array.isArray(message) ? message.join(" ") : String(message)
  const now = Date.now()
  say(row(now, `call ${String(all.call ?? "?").padStart(2)}`, cyan(explain(text, all, now))))
})

export interface Round {
  readonly statuses: ReadonlyArray<number>
  readonly sent: number
  readonly elapsed: number
  readonly ideal: number
  readonly early: number
}

const round = (
  title: string,
  about: ReadonlyArray<string>,
  coordinator: Layer.Layer<never> | Layer.Layer<Coordinator.Coordinator>
) =>
  Effect.gen(function*() {
    say()
    say(bold(title))
    for (const line of about) say(line)
    say()
    const startedAt = Date.now()
    const server = yield* serve(rateLimiter(startedAt), (a) => {
      const told = a.reply.headers?.["retry-after"]
      const status = a.reply.status === 200 ? green("200") : yellow(String(a.reply.status))
      say(row(a.at, "server", `${a.method} ${a.path} -> ${status}${told ? `, Retry-After: ${told}` : ""}`))
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
    say()
    say(`  calls succeeded     ${results.filter((s) => s === 200).length} of ${CALLS}`)
    say(`  requests sent       ${sent} for ${CALLS} calls (${(sent / CALLS).toFixed(2)} per call; ideal 1.00)`)
    say(`  requests per call   ${perCall.join(" ")}`)
    say(`  total time          ${elapsed} ms (${(elapsed / ideal).toFixed(2)}x the ideal ${ideal} ms)`)
    say(`  early retries       ${early}`)
    return { statuses: results, sent, elapsed, ideal, early } satisfies Round
  }).pipe(Effect.scoped)

export const main = Effect.gen(function*() {
  say(`A local API allows ${LIMIT} requests per second; past that it answers 429 with`)
  say(`Retry-After and X-RateLimit-* headers. ${CALLS} calls start at once, in two rounds.`)
  const alone = yield* round(
    "1. withStatusRetry() alone",
    ["Each call finds the limit on its own and waits as long as its answer asks."],
    Layer.empty
  )
  const coordinated = yield* round(
    "2. withStatusRetry() + Coordinator.layer()",
    [
      "Calls to one origin share what the server said. One request goes first and",
      "the others wait for its answer, which shows the limit and when it resets."
    ],
    Coordinator.layer()
  )
  say()
  say(`Same calls, same server: ${alone.sent} requests in ${alone.elapsed} ms alone,`)
  say(`${coordinated.sent} requests in ${coordinated.elapsed} ms coordinated.`)
  return { alone, coordinated }
}).pipe(
  Effect.provide(NodeHttpClient.layerUndici),
  Effect.provide(Logger.replace(Logger.defaultLogger, decisions)),
  Logger.withMinimumLogLevel(LogLevel.Debug)
)

if (import.meta.url === `file://${process.argv[1]}`) {
  NodeRuntime.runMain(main.pipe(Effect.asVoid), { disablePrettyLogger: true })
}
