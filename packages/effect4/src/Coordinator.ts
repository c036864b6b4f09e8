/**
 * The coordinator for Effect 4: a `Layer` that lets concurrent calls to one origin share what its server said (a
 * cooldown, a used-up window, a rate it throttles at) instead of each finding out alone. The state machine is the
 * engine's, the same as the Effect 3 line's; this module only waits and counts on Effect 4.
 *
 * @since 0.1.0
 */
import * as CoordinatorAnswer from "@effect-retry/engine/CoordinatorAnswer"
import * as CoordinatorState from "@effect-retry/engine/CoordinatorState"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Random from "effect/Random"
import * as options from "./internal/options.js"

/**
 * A request as the coordinator sees it: where it goes, whether it is a retry, and the call's deadline (epoch
 * milliseconds), past which it is not held.
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
  readonly attempt: "first" | "retry" | "retry-after-hint"
  readonly deadline: number
}

/**
 * A request the coordinator would hold past the call's deadline (a cooldown, a used-up window), or a retry its
 * retry budget refused: the call fails at once, saying until when.
 *
 * @example
 * ```ts
 * import { Coordinator } from "@effect-retry/effect4"
 *
 * const error = new Coordinator.OriginHeld({ origin: "https://api.test", until: 0, reason: "cooldown" })
 * const tag: "OriginHeld" = error._tag
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class OriginHeld extends Data.TaggedError("OriginHeld")<{
  readonly origin: string
  readonly until: number
  readonly reason: CoordinatorState.HoldReason | "retry-budget"
}> {
  override get message(): string {
    return this.reason === "retry-budget"
      ? `a retry to ${this.origin} was refused: the server accepts too few requests (retry budget)`
      : `requests to ${this.origin} are held (${this.reason}) past this call's deadline`
  }
}

/**
 * The coordinator service: `withStatusRetry` runs every attempt under one of its permits and tells it every answer.
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
  /** Runs `use` once the request may go; the permit is settled when `use` ends. */
  readonly withPermit: <A, E, R>(
    info: RequestInfo,
    use: (permit: CoordinatorState.Permit) => Effect.Effect<A, E, R>
  ) => Effect.Effect<A, E | OriginHeld, R>
  /** Tells the coordinator an answer to the request of `permit`. */
  readonly observe: (permit: CoordinatorState.Permit, observed: CoordinatorAnswer.Observed) => Effect.Effect<void>
  /** How many origins it remembers. */
  readonly size: Effect.Effect<number>
}>()("@effect-retry/effect4/Coordinator") {}

/**
 * Options of the coordinator; every one has a default.
 *
 * @example
 * ```ts
 * import type { Coordinator } from "@effect-retry/effect4"
 *
 * const options: Coordinator.Options = { limits: { "https://api.test": { requests: 10, window: "1 second" } } }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Known limits by origin: at most `requests` per `window`. Default: none (learned from the answers). */
  readonly limits?: Readonly<Record<string, { readonly requests: number; readonly window: Duration.Input }>>
  /** A new origin lets one request go first and ramps up from its answer. Default: true. */
  readonly cautiousStart?: boolean
  /** A cooldown longer than this is not shared with other calls. Default: 1 minute. */
  readonly maxSharedCooldown?: Duration.Input
}

/**
 * Makes a coordinator: one state machine, shared by every call that uses it.
 *
 * @example
 * ```ts
 * import { Coordinator } from "@effect-retry/effect4"
 * import { Effect } from "effect"
 *
 * const size = Effect.runSync(Effect.flatMap(Coordinator.make(), (coordinator) => coordinator.size))
 * assert.strictEqual(size, 0)
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (input: Options = {}): Effect.Effect<Coordinator["Service"]> => {
  const problems: Array<string> = []
  const limits = new Map<string, CoordinatorState.Limit>()
  for (const [origin, limit] of Object.entries(input.limits ?? {})) {
    const window = options.millis(problems, `limits["${origin}"].window`, limit.window, 0)
    if (!(Number.isInteger(limit.requests) && limit.requests >= 1)) {
      problems.push(`limits["${origin}"].requests must be a whole number of at least 1`)
    }
    if (window === 0) problems.push(`limits["${origin}"].window must be more than zero`)
    limits.set(CoordinatorAnswer.originOf(origin), { requests: limit.requests, window, burst: limit.requests })
  }
  const maxSharedCooldown = options.millis(problems, "maxSharedCooldown", input.maxSharedCooldown, "1 minute")
  if (problems.length > 0) return Effect.die(new options.InvalidRetryOptions({ problems }))
  return Effect.sync(() => {
    const machine = new CoordinatorState.CoordinatorState({
      cautiousStart: input.cautiousStart ?? true,
      limits,
      maxSharedCooldown,
      retryThrottle: { k: 2, minRequests: 20, window: 60_000 },
      ttl: 5 * 60_000,
      maxPartitions: 10_000
    })

    const acquire = (info: RequestInfo): Effect.Effect<CoordinatorState.Permit, OriginHeld> => {
      const origin = CoordinatorAnswer.originOf(info.url)
      const request: CoordinatorState.Request = {
        partition: origin,
        origin,
        route: CoordinatorState.routeOf(info.url),
        attempt: info.attempt
      }
      const step: Effect.Effect<CoordinatorState.Permit, OriginHeld> = Effect.flatMap(
        Effect.zip(Clock.currentTimeMillis, Random.next),
        ([now, random]) => {
          const admission = machine.admit(request, now, random)
          if (admission instanceof CoordinatorState.Permit) return Effect.succeed(admission)
          if (admission.refused) return Effect.fail(new OriginHeld({ origin, until: now, reason: "retry-budget" }))
          const until = admission.until ?? Infinity
          if (!admission.answer && until > info.deadline) {
            return Effect.fail(new OriginHeld({ origin, until, reason: admission.reason }))
          }
          if (now >= info.deadline) return Effect.fail(new OriginHeld({ origin, until, reason: admission.reason }))
          // Until the instant, or (waiting for an answer already on its way) a look every 50 ms.
          const wait = admission.answer ? Math.min(50, until - now) : until - now
          return Effect.flatMap(Effect.sleep(Duration.millis(Math.max(1, Math.ceil(wait)))), () => step)
        }
      )
      return step
    }

    const settle = (permit: CoordinatorState.Permit, exit: Exit.Exit<unknown, unknown>) =>
      permit.settled ? Effect.void : Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Effect.sync(() => {
          machine.settle(
            permit,
            Exit.isSuccess(exit) ? "success" : Exit.hasInterrupts(exit) ? "interrupted" : "failure",
            now
          )
        }))

    return Coordinator.of({
      withPermit: (info, use) =>
        Effect.uninterruptibleMask((restore) =>
          Effect.flatMap(
            restore(acquire(info)),
            (permit) => Effect.onExit(restore(use(permit)), (exit) => settle(permit, exit))
          )
        ),
      observe: (permit, observed) =>
        Effect.sync(() => {
          machine.observe(permit, CoordinatorAnswer.answerOf(observed))
        }),
      size: Effect.flatMap(Clock.currentTimeMillis, (now) => Effect.sync(() => machine.size(now)))
    })
  })
}

/**
 * The coordinator as a `Layer`: provide it to the calls that should share what the servers said.
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
export const layer = (input?: Options): Layer.Layer<Coordinator> => Layer.effect(Coordinator, make(input))
