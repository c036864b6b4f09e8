/**
 * A maintenance window: the server answers 503 with an HTTP-date `Retry-After` until maintenance ends. A short
 * window is waited out; a long one fails at once with a typed error that carries the instant, so a job can be
 * re-scheduled instead of a process sleeping for an hour.
 */
import { NodeHttpClient, NodeRuntime } from "@effect/platform-node"
import * as HttpClient from "@effect/platform/HttpClient"
import { HttpDate } from "@effect-retry/core"
import { withStatusRetry } from "@effect-retry/platform"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { serve } from "./server.js"

/** A server in maintenance until `endsAt` (epoch ms); its clock may be skewed by `skew` ms. */
const maintenance = (endsAt: number, skew = 0) =>
  serve((arrival) =>
    arrival.at < endsAt
      ? {
        status: 503,
        headers: {
          "retry-after": HttpDate.formatImfFixdate(endsAt + skew),
          date: HttpDate.formatImfFixdate(arrival.at + skew)
        },
        body: JSON.stringify({ error: "scheduled maintenance" })
      }
      : { status: 200, body: JSON.stringify({ ok: true }) }
  )

export const main = Effect.gen(function*() {
  const client = (yield* HttpClient.HttpClient).pipe(withStatusRetry({ maxRetryAfter: "30 seconds" }))

  // Two seconds of maintenance (rounded up to a whole second: HTTP-dates have no milliseconds), on a server whose
  // clock is ten minutes fast: the wait is measured against its own Date header, so the skew does not matter.
  const shortEnd = Math.ceil((Date.now() + 2000) / 1000) * 1000
  const short = yield* maintenance(shortEnd, 10 * 60 * 1000)
  const started = Date.now()
  const response = yield* client.get(`${short.url}/report`)
  const waited = Date.now() - started
  const afterEnd = short.arrivals[short.arrivals.length - 1]!.at - shortEnd
  console.log(
    `short window: ${response.status} after ${waited} ms and ${short.arrivals.length} requests; ` +
      `the retry arrived ${afterEnd} ms after maintenance ended`
  )

  // An hour of maintenance: longer than maxRetryAfter, so the call fails at once and says until when.
  const long = yield* maintenance(Date.now() + 60 * 60 * 1000)
  const rescheduled = yield* client.get(`${long.url}/report`).pipe(
    Effect.as("done"),
    Effect.catchTag("ServiceUnavailable", (error) =>
      Effect.succeed(
        Option.match(error.retryAfter, {
          onNone: () => "no hint",
          onSome: (hint) =>
            `re-schedule at ${new Date(hint.at).toISOString()} (${Option.getOrElse(error.stopReason, () => "")})`
        })
      ))
  )
  console.log(`long window: ${rescheduled} after ${long.arrivals.length} request`)
  return {
    status: response.status,
    waited,
    afterEnd,
    shortRequests: short.arrivals.length,
    longRequests: long.arrivals.length,
    rescheduled
  }
}).pipe(Effect.scoped, Effect.provide(NodeHttpClient.layerUndici))

if (import.meta.url === `file://${process.argv[1]}`) {
  NodeRuntime.runMain(main)
}
