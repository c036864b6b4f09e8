/**
 * The Effect 4 rows: Effect 4.1's own retry and rate-limit wrappers for `effect/http`'s HttpClient, on its
 * `FetchHttpClient` (Node's global `fetch`). `effect` 4.1 is installed under the alias `effect-4`, so that the Effect 3
 * rows keep `effect` 3.22; `@effect/platform-node` 4.1 needs Node.js >= 22.19 and is not used.
 *
 * Every row is one `effect4Client(layer, build)`: a runtime of `FetchHttpClient.layer` and `layer` (made once, kept
 * for the client's life, so a limiter or coordinator in it is one for the whole run), and `build`, run once in it,
 * which wraps the `HttpClient` and answers which client a call to a URL goes through.
 */
import * as Cause from "effect-4/Cause"
import * as Effect from "effect-4/Effect"
import * as Exit from "effect-4/Exit"
import * as Layer from "effect-4/Layer"
import * as ManagedRuntime from "effect-4/ManagedRuntime"
import * as Option from "effect-4/Option"
import * as Schedule from "effect-4/Schedule"
import { FetchHttpClient, HttpClient, HttpClientError, HttpClientRequest, type HttpClientResponse } from "effect-4/http"
import { RateLimiter } from "effect-4/persistence"
import { Coordinator, withStatusRetry } from "@effect-retry/effect4"
import { type Adapter, byStatus, type Client, exception, type ToldLimits } from "./client.js"

/** A wrapped Effect 4 client (any `HttpClient.With<E, never>`): what a call needs of it. */
export interface Effect4Client {
  readonly execute: (
    request: HttpClientRequest.HttpClientRequest
  ) => Effect.Effect<HttpClientResponse.HttpClientResponse, unknown>
}

/** Which client a call to `url` goes through (one for every URL, except for a row told a quota per origin). */
export type Effect4Route = (url: string) => Effect4Client

/**
 * Makes a client of an Effect 4 row: `build` runs once in a runtime of `FetchHttpClient.layer` merged with `layer`,
 * and every call runs in that runtime (with the harness's signal), as a program that provides those layers once.
 */
export const effect4Client = async <R>(
  layer: Layer.Layer<R>,
  build: Effect.Effect<Effect4Route, never, R | HttpClient.HttpClient>
): Promise<Client> => {
  const runtime = ManagedRuntime.make(Layer.merge(FetchHttpClient.layer, layer))
  const route = await runtime.runPromise(build)
  return {
    call: async (spec) => {
      let request = HttpClientRequest.make(spec.method)(spec.url, { headers: spec.headers })
      if (spec.body !== undefined) request = HttpClientRequest.bodyText(request, spec.body, "application/json")
      const exit = await runtime.runPromiseExit(
        Effect.flatMap(route(spec.url).execute(request), (response) => Effect.as(response.text, response.status)),
        { signal: spec.signal }
      )
      if (Exit.isSuccess(exit)) return byStatus(exit.value)
      const failure = Cause.findErrorOption(exit.cause)
      if (Option.isSome(failure)) {
        const error = failure.value
        // A status the wrapper surfaced as an error (`filterStatusOk`, or a toolkit's typed status error with the
        // response on it).
        if (HttpClientError.isHttpClientError(error) && error.reason._tag === "StatusCodeError") {
          return { kind: "failed", status: error.reason.response.status }
        }
        const status = (error as { readonly status?: unknown } | undefined)?.status
        if (typeof status === "number") return { kind: "failed", status }
        return exception(error)
      }
      if (Cause.hasInterruptsOnly(exit.cause)) return { kind: "exception", error: "interrupted by the call timeout" }
      return { kind: "exception", error: Cause.pretty(exit.cause).split("\n")[0]!.slice(0, 160) }
    },
    close: () => runtime.dispose()
  }
}

/** The same client for every URL: `wrap` applied to the runtime's `HttpClient`. */
const everywhere = (wrap: (client: HttpClient.HttpClient) => Effect4Client) =>
  Effect.gen(function*() {
    const wrapped = wrap(yield* HttpClient.HttpClient)
    return (): Effect4Client => wrapped
  })

const EFFECT4 = ["effect-4"]

/**
 * `HttpClient.retryTransient` as the Effect 3 row uses it: exponential backoff from 100 ms, jittered, 3 retries, a
 * 10 s timeout per attempt inside the retry. In 4.1 it retries transient responses (408, 429, 5xx) itself and waits
 * at least their `Retry-After`, with no cap.
 */
const retryTransient4: Adapter = {
  id: "effect4-retry-transient",
  label: "Effect 4 `retryTransient`",
  packages: EFFECT4,
  group: 1,
  config: "Effect 4.1 `FetchHttpClient`, a 10 s `Effect.timeout` per attempt, then `retryTransient({ schedule: " +
    "Schedule.exponential(\"100 millis\").pipe(Schedule.jittered), times: 3 })` (retries 408/429/5xx responses and " +
    "transient errors, waiting at least Retry-After, uncapped)",
  make: (retry) =>
    effect4Client(
      Layer.empty,
      everywhere((client) => {
        // The per-attempt timeout goes inside the retry, so a timed-out attempt is retried (a TimeoutError is one
        // of the transient errors retryTransient knows).
        const timed = client.pipe(HttpClient.transformResponse(Effect.timeout("10 seconds")))
        if (!retry) return timed
        // 4.1 retries transient responses without `filterStatusOk` (its default `retryOn` is
        // "errors-and-responses"); the schedule and bound are the Effect 3 row's.
        return timed.pipe(
          HttpClient.retryTransient({ schedule: Schedule.exponential("100 millis").pipe(Schedule.jittered), times: 3 })
        )
      })
    )
}

/** One in-memory `RateLimiter` per client instance (the store is the limiter's state: one for the whole run). */
const limiterLayer = RateLimiter.layer.pipe(Layer.provide(RateLimiter.layerStoreMemory))

/** `withRateLimiter` keyed by origin, as the coordinator keys its state; 3 retries of a 429, as every peer has. */
const rateLimited = (
  client: HttpClient.HttpClient,
  limiter: RateLimiter.RateLimiter,
  limit: number,
  windowMs: number
): Effect4Client =>
  client.pipe(
    HttpClient.withRateLimiter({
      limiter,
      key: (request) => new URL(request.url).origin,
      limit,
      window: windowMs,
      // Without `times` a 429 is retried without end; 3, as for every peer.
      times: 3
    })
  )

/**
 * `withRateLimiter` told the quotas (`{ limits }` as the toolkit's told row is): one limiter wrapper per origin,
 * each with its origin's quota (the option takes one limit for every key). A quota with a burst (nginx's
 * `rate=10r/s`, no burst) is told as `burst` requests per the time those take at the rate.
 */
const rateLimiterTold: Adapter = {
  id: "effect4-rate-limiter-limit",
  label: "Effect 4 `withRateLimiter`, told the limit",
  packages: EFFECT4,
  group: 1,
  told: true,
  config: "Effect 4.1 `FetchHttpClient`, `withRateLimiter({ limiter, key: origin, limit: 40, window: 1000, " +
    "times: 3 })` for the server's origin and `{ limit: 1, window: 100 }` for nginx's (`rate=10r/s`, no burst); " +
    "in-memory `RateLimiter` store, fixed window (the default), response inspection and adaptive learning on " +
    "(the defaults); retries 429 only",
  make: (retry, limits: ToldLimits = {}) =>
    effect4Client(
      limiterLayer,
      Effect.gen(function*() {
        const client = yield* HttpClient.HttpClient
        if (!retry) return (): Effect4Client => client
        const limiter = yield* RateLimiter.RateLimiter
        const byOrigin = new Map(
          Object.entries(limits).map(([origin, l]) => {
            const [limit, windowMs] = l.burst === undefined
              ? [l.requests, l.windowMs]
              : [l.burst, (l.windowMs * l.burst) / l.requests]
            return [origin, rateLimited(client, limiter, limit, windowMs)] as const
          })
        )
        // The row runs only the workloads whose quota it was told; elsewhere (the overhead pass's origin) it is the
        // plain client, as the toolkit's told row is unlimited on an origin it was told nothing of.
        return (url: string): Effect4Client => byOrigin.get(new URL(url).origin) ?? client
      })
    )
}

/**
 * `withRateLimiter` not told the quota: it needs a limit, so it gets one far above the server's (1000 per second),
 * and what paces it is what it learns from the answers (the limit and reset of `X-RateLimit-*` / `RateLimit-*`
 * headers, and its adaptive learning from a 429's Retry-After).
 */
const rateLimiterLearned: Adapter = {
  id: "effect4-rate-limiter",
  label: "Effect 4 `withRateLimiter`, learning the limit",
  packages: EFFECT4,
  group: 1,
  config: "as above with `limit: 1000, window: 1000` for every origin (not the server's quota): paced by what it " +
    "learns from rate-limit headers and 429 + Retry-After (response inspection and adaptive learning, the defaults)",
  make: (retry) =>
    effect4Client(
      limiterLayer,
      Effect.gen(function*() {
        const client = yield* HttpClient.HttpClient
        if (!retry) return (): Effect4Client => client
        const wrapped = rateLimited(client, yield* RateLimiter.RateLimiter, 1000, 1000)
        return (): Effect4Client => wrapped
      })
    )
}

/** A row of the toolkit's Effect 4 line: `withStatusRetry()` in a runtime that provides `layer` once. */
const toolkit4 = (
  id: string,
  label: string,
  config: string,
  layer: () => Layer.Layer<never>
): Adapter => ({
  id,
  label,
  packages: ["@effect-retry/effect4", "effect-4"],
  toolkit: { effect: 4, transport: "FetchHttpClient" },
  group: 1,
  config,
  make: (retry) => effect4Client(layer(), everywhere((client) => (retry ? client.pipe(withStatusRetry()) : client)))
})

/** The toolkit's Effect 4 line with its defaults, and with its coordinator Layer learning the limits. */
const effectRetry4 = toolkit4(
  "effect4-retry",
  "effect-retry (Effect 4) `withStatusRetry()`",
  "`@effect-retry/effect4` on Effect 4.1's `FetchHttpClient`: `client.pipe(withStatusRetry())`, the defaults",
  () => Layer.empty
)
const effectRetry4Coordinated = toolkit4(
  "effect4-retry-coord",
  "effect-retry (Effect 4) + `Coordinator.layer()`",
  "as above, with `Coordinator.layer()` provided once for the client's life (no limit configured)",
  () => Coordinator.layer()
)

/** The Effect 4 rows, in the order of the tables: the toolkit's Effect 4 line first, then Effect 4's own. */
export const effect4Adapters: ReadonlyArray<Adapter> = [
  effectRetry4,
  effectRetry4Coordinated,
  retryTransient4,
  rateLimiterTold,
  rateLimiterLearned
]
