/**
 * The coordinator for Effect 4: a `Layer` that lets concurrent calls to one origin share what its server said (a
 * cooldown, a used-up window, a rate it throttles at) instead of each finding out alone. The state machine is the
 * engine's, the same as the Effect 3 line's; this module only waits and counts on Effect 4.
 *
 * @since 0.1.0
 */
import * as CoordinatorAnswer from "@effect-retry/engine/CoordinatorAnswer"
import type * as CoordinatorState from "@effect-retry/engine/CoordinatorState"
import type * as Headers from "@effect-retry/engine/Headers"
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Metric from "effect/Metric"
import * as internal from "./internal/coordinator.js"

/**
 * A request as the coordinator sees it: where it goes, whether it is a retry, and the call's deadline (epoch
 * milliseconds), past which it is not held. `method` and `headers` are read only by a `key` function of the options.
 *
 * @example
 * ```ts
 * import type { Coordinator } from "@effect-retry/effect4"
 *
 * const info: Coordinator.RequestInfo = { url: "https://api.test/items", attempt: "first", deadline: Infinity }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface RequestInfo {
  readonly url: string
  /**
   * A first attempt, a retry after a backoff (subject to the retry budget), or a retry at the instant a server hint
   * gave (never refused: the server asked for it).
   */
  readonly attempt: "first" | "retry" | "retry-after-hint"
  /** A hold that would end past this instant (epoch milliseconds) fails at once with `OriginHeld`. Default: none. */
  readonly deadline?: number
  readonly method?: string
  /** Request headers with lower-case names. */
  readonly headers?: Headers.HeaderRecord
}

/**
 * Why the coordinator holds or refuses a request: a cooldown the server gave, a quota or rate to keep to, a first
 * request whose answer the others wait for, or a retry refused because the server accepts too few requests.
 *
 * @example
 * ```ts
 * import type { Coordinator } from "@effect-retry/effect4"
 *
 * const reason: Coordinator.HoldReason = "cooldown"
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type HoldReason = CoordinatorState.HoldReason | "retry-budget"

export {
  /**
   * A request the coordinator would hold past the call's deadline (a cooldown, a used-up window), or a retry its
   * retry budget refused: the call fails at once, saying until when.
   *
   * @example
   * ```ts
   * import { Coordinator } from "@effect-retry/effect4"
   *
   * const error = new Coordinator.OriginHeld({ origin: "https://api.test", until: 0, reason: "cooldown" })
   * assert.strictEqual(error.message, "requests to https://api.test are held until 1970-01-01T00:00:00.000Z (cooldown), past this call's deadline")
   * ```
   *
   * @since 0.1.0
   * @category errors
   */
  OriginHeld
} from "./internal/coordinator.js"

/**
 * The coordinator service: `withStatusRetry` runs every attempt under one of its permits and tells it every answer it
 * asks for.
 *
 * @example
 * ```ts
 * import { Coordinator } from "@effect-retry/effect4"
 * import { Effect } from "effect"
 *
 * const size = Effect.flatMap(Coordinator.Coordinator, (coordinator) => coordinator.size)
 * ```
 *
 * @since 0.1.0
 * @category services
 */
export class Coordinator extends Context.Service<Coordinator, {
  /**
   * Waits until the request may go (no cooldown, quota or rate to wait for), runs `use` with its permit, and hands
   * the permit back however `use` ends. A hold that would end past the request's deadline fails at once with
   * `OriginHeld`, and so does a retry the retry budget refuses (`reason: "retry-budget"`). Interrupting a waiting
   * call gives up its place.
   */
  readonly withPermit: <A, E, R>(
    info: RequestInfo,
    use: (permit: CoordinatorState.Permit) => Effect.Effect<A, E, R>
  ) => Effect.Effect<A, E | internal.OriginHeld, R>
  /**
   * Learns from an answer: rate-limit headers pace its bucket, a 429 or 503 hint holds it until its instant, a
   * throttle without a hint slows the bucket to the rate the server accepts. Calls it lets go are woken at once.
   */
  readonly observe: (permit: CoordinatorState.Permit, observed: CoordinatorAnswer.Observed) => Effect.Effect<void>
  /** How many origins (and keys) it holds state for. */
  readonly size: Effect.Effect<number>
}>()("@effect-retry/effect4/Coordinator") {}

/**
 * Options of the coordinator, each with a documented default (the same names and defaults as the Effect 3 line's).
 *
 * @example
 * ```ts
 * import type { Coordinator } from "@effect-retry/effect4"
 *
 * const options: Coordinator.Options = {
 *   limits: { "https://api.test": { requests: 10, window: "1 second" } },
 *   retryBudget: { k: 2, minRequests: 20, window: "1 minute" },
 *   key: (request) => request.headers?.["x-api-key"] as string | undefined
 * }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /**
   * Calls held by a cooldown or an empty quota are released at random over this window after the instant, not all
   * at once (a rate inferred from throttling lets one request go at a time, on time). Default: 20 millis.
   */
  readonly releaseSpread?: Duration.Input
  /**
   * While a bucket has never answered, one request goes first and the others follow its answer, ramping up as
   * answers come (twice as many in flight as answered), and so again when an idle bucket forgets a rate it inferred
   * from throttles without a hint; a new route of a known origin ramps up the same way (four in flight per accepted
   * answer). Default: `true`.
   */
  readonly cautiousStart?: boolean
  /**
   * Known limits per origin (`"https://api.example.com"`): no more than `requests` per `window` are sent, from the
   * very first request; when the server's rate-limit headers say otherwise, they take over. It is the quota of each
   * bucket of the origin: its own, and each one its answers name (an IETF policy name, `x-ratelimit-resource`).
   * `burst` (default: `requests`) sends at most that many at once and spaces the others evenly over the window, as
   * nginx's `limit_req` admits them. Default: none (limits are learned from the rate-limit headers).
   *
   * `backToBack: true` says the server's windows follow each other back to back, one every `window` (a counter per
   * interval of its clock, such as a key per window in a shared store): once an answer has bounded a window's end,
   * each next window's quota goes at the last one's end, and that window lasts a window from its first request,
   * without waiting for its answers (a 429 within the quota turns this off). Default: `false`,
   * for servers whose window starts with the first request after the last one expired (the memory stores of
   * express-rate-limit and @fastify/rate-limit): each window's end is measured again from its first answer, which
   * costs that answer's time once per window.
   */
  readonly limits?: Readonly<
    Record<
      string,
      {
        readonly requests: number
        readonly window: Duration.Input
        readonly burst?: number
        readonly backToBack?: boolean
      }
    >
  >
  /**
   * Adaptive client-side throttling of retries after a backoff (Google SRE): over a sliding `window`, a retry is
   * refused with probability max(0, (requests - k x accepts) / (requests + 1)), once at least `minRequests` were
   * answered, per origin and per route, and by the same formula over the origin's last two seconds. Retries at the
   * instant a server hint gave are never refused. A refused call stops with `stopReason` "retry-budget". `false`
   * turns it off. Default: `{ k: 2, minRequests: 20, window: "1 minute" }`.
   */
  readonly retryBudget?:
    | false
    | {
      readonly k?: number
      readonly minRequests?: number
      readonly window?: Duration.Input
    }
  /**
   * A cooldown the server gives is shared with the other calls up to this long; a longer hint holds only the call
   * that received it. Default: 1 minute.
   */
  readonly maxSharedCooldown?: Duration.Input
  /**
   * A key of the request's own, such as a hash of its credential: requests with different keys to one origin
   * share nothing (each API key has its own limit). Default: none (state per origin).
   */
  readonly key?: (request: RequestInfo) => string | undefined
  /** An origin unused this long is forgotten, whatever it learned. Default: 5 minutes. */
  readonly originTtl?: Duration.Input
  /** At most this many origins (and keys) are remembered; the least recently used go first. Default: 10 000. */
  readonly maxOrigins?: number
}

/**
 * Makes a coordinator: one state machine, shared by every call that uses it; throws `InvalidRetryOptions` for bad
 * options.
 *
 * @example
 * ```ts
 * import { Coordinator } from "@effect-retry/effect4"
 * import { Effect } from "effect"
 *
 * const size = Effect.runSync(Effect.flatMap(Coordinator.make({ originTtl: "1 minute" }), (coordinator) => coordinator.size))
 * assert.strictEqual(size, 0)
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options?: Options): Effect.Effect<Coordinator["Service"]> => {
  const settings = internal.resolve(options)
  return Effect.map(internal.make(settings), Coordinator.of)
}

/**
 * The coordinator as a `Layer`: provide it to the calls that should share what the servers said; bad options throw
 * `InvalidRetryOptions` when the layer is made.
 *
 * @example
 * ```ts
 * import { Coordinator, withStatusRetry } from "@effect-retry/effect4"
 * import { Effect } from "effect"
 * import { FetchHttpClient, HttpClient } from "effect/http"
 *
 * const program = Effect.flatMap(HttpClient.HttpClient, (client) => client.pipe(withStatusRetry()).get("https://api.test/"))
 * const runnable = program.pipe(Effect.provide(Coordinator.layer()), Effect.provide(FetchHttpClient.layer))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options?: Options): Layer.Layer<Coordinator> => Layer.effect(Coordinator, make(options))

/**
 * The origin of a URL (`https://api.example.com:8443`), as the coordinator keys its state.
 *
 * @example
 * ```ts
 * import { Coordinator } from "@effect-retry/effect4"
 *
 * assert.strictEqual(Coordinator.originOf("https://api.example.com/items?page=2"), "https://api.example.com")
 * ```
 *
 * @since 0.1.0
 * @category utils
 */
export const originOf: (url: string) => string = CoordinatorAnswer.originOf

/**
 * Counts requests held, with the attribute `reason`: `cooldown`, `pacing` or `learning`.
 *
 * @example
 * ```ts
 * import { Coordinator } from "@effect-retry/effect4"
 * import { Effect, Metric } from "effect"
 *
 * const held = Effect.map(Metric.value(Coordinator.holds), (state) => state.count)
 * ```
 *
 * @since 0.1.0
 * @category metrics
 */
export const holds: Metric.Counter<number> = internal.holds

/**
 * Counts held requests released.
 *
 * @example
 * ```ts
 * import { Coordinator } from "@effect-retry/effect4"
 * import { Effect, Metric } from "effect"
 *
 * const released = Effect.map(Metric.value(Coordinator.releases), (state) => state.count)
 * ```
 *
 * @since 0.1.0
 * @category metrics
 */
export const releases: Metric.Counter<number> = internal.releases

/**
 * Counts retries refused because an origin's retry budget was empty.
 *
 * @example
 * ```ts
 * import { Coordinator } from "@effect-retry/effect4"
 * import { Effect, Metric } from "effect"
 *
 * const refused = Effect.map(Metric.value(Coordinator.refusals), (state) => state.count)
 * ```
 *
 * @since 0.1.0
 * @category metrics
 */
export const refusals: Metric.Counter<number> = internal.refusals
