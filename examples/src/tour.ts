/**
 * A tour of @effect-retry/core on its own, with no HTTP client: parse what servers say, classify statuses into
 * typed errors, and retry with the schedule.
 */
import { NodeRuntime } from "@effect/platform-node"
import { Backoff, RetryAfter, RetryPolicy, ServerHint, StatusError, StatusPolicy } from "@effect-retry/core"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"

// 1. Retry-After: delay-seconds or any of the three HTTP-date formats; malformed means no hint, never a throw.
const seconds = RetryAfter.parse("7") // Some(7 seconds)
const skewSafe = RetryAfter.parse("Wed, 21 Oct 2015 07:28:02 GMT", { date: "Wed, 21 Oct 2015 07:28:00 GMT" }) // 2 s
const malformed = RetryAfter.parse("soon") // None

// 2. Other server hints, when Retry-After is absent: Retry-After-Ms, RateLimit, X-RateLimit-*.
const hint = ServerHint.fromHeaders({ "x-ratelimit-remaining": "0", "x-ratelimit-reset": "3" })

// 3. Statuses as typed errors, on a policy you can change.
const policy = StatusPolicy.defaultPolicy.pipe(StatusPolicy.retrying([404]), StatusPolicy.notRetrying([500]))
const toError = (status: number, headers: Record<string, string> = {}) =>
  StatusError.fromResponse({ status, method: "GET", url: "https://api.example.com/items", headers }, {
    statusPolicy: policy
  })

// 4. A call that is throttled once, then succeeds: retried with the server's hint, typed errors by name.
let calls = 0
const call: Effect.Effect<string, StatusError.StatusError> = Effect.suspend(() => {
  calls++
  const error = calls === 1 ? toError(429, { "retry-after": "1" }) : Option.none()
  return Option.match(error, { onNone: () => Effect.succeed("ok"), onSome: Effect.fail })
})

export const main = Effect.gen(function*() {
  const result = yield* call.pipe(
    RetryPolicy.retry({ maxAttempts: 3, timeout: "10 seconds" }),
    Effect.catchTag("NotFound", () => Effect.succeed("not there"))
  )
  // 5. Backoff strategies are plain Schedules too.
  const delays = yield* Schedule.run(Backoff.exponential({ jitter: "none" }), 0, [1, 2, 3, 4])
  const summary = {
    seconds: Option.map(seconds, Duration.toMillis),
    skewSafe: Option.map(skewSafe, Duration.toMillis),
    malformed: Option.isNone(malformed),
    hint: Option.map(hint, (h) => h.source),
    notFound: Option.map(toError(404), (e) => [e._tag, e.kind]),
    result,
    calls,
    backoff: Array.from(delays, Duration.toMillis)
  }
  console.log(summary)
  return summary
})

if (import.meta.url === `file://${process.argv[1]}`) {
  NodeRuntime.runMain(main)
}
