/**
 * One worker of the fleet benchmark (`fleet.ts` forks N of them): its own client and coordinator (in memory, or on
 * Redis), `calls` calls at once when the parent says go, each outcome sent back over IPC. It exits when its parent
 * goes away.
 */
import { Coordinator, StatusError } from "@effect-retry/core"
import { withStatusRetry } from "@effect-retry/platform"
import { RedisCoordinator } from "@effect-retry/redis"
import * as HttpClient from "@effect/platform/HttpClient"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Metric from "effect/Metric"
import { now } from "./protocol.js"

export interface WorkerSetup {
  readonly id: number
  readonly coordinator: "memory" | "redis"
  readonly redisUrl: string
  readonly prefix: string
  readonly url: string
  /** A server of another origin, answered once before the calls start. */
  readonly warmUp: string
  readonly calls: number
  /** Each Redis call's time-out, in milliseconds. */
  readonly timeout: number
}

export interface CallOutcome {
  readonly call: string
  readonly start: number
  readonly end: number
  /** 200, a status the call gave up on, "held" (OriginHeld), or another error's tag. */
  readonly result: number | string
}

export type FromWorker =
  | { readonly kind: "ready" }
  | {
    readonly kind: "done"
    readonly outcomes: ReadonlyArray<CallOutcome>
    readonly fallbacks: number
    readonly warnings: number
  }

const setup = JSON.parse(process.argv[2]!) as WorkerSetup
process.on("disconnect", () => process.exit(0))

let warnings = 0
const counting = Logger.make(({ logLevel }) => {
  if (logLevel === LogLevel.Warning) warnings++
})

const coordinator = setup.coordinator === "memory"
  ? Coordinator.layer()
  : RedisCoordinator.layer({ url: setup.redisUrl, prefix: setup.prefix, timeout: setup.timeout })

const program = Effect.gen(function*() {
  const client = withStatusRetry({ timeout: "30 seconds" })(yield* HttpClient.HttpClient)
  // One call to another origin first (the warm-up server), so the first timed request does not pay for loading and
  // compiling the client's code, nor for the connection to Redis.
  yield* Effect.ignore(client.get(setup.warmUp))
  process.send!({ kind: "ready" } satisfies FromWorker)
  yield* Effect.async<void>((resume) => {
    process.once("message", () => resume(Effect.void))
  })
  const outcomes = yield* Effect.forEach(
    Array.from({ length: setup.calls }, (_, i) => `w${setup.id}-${i}`),
    (call) => {
      const start = now()
      return client.get(`${setup.url}/items/${call}`, { headers: { "x-call-id": call, "x-worker": String(setup.id) } })
        .pipe(
          Effect.map((r): number | string => r.status),
          Effect.catchAll((e) =>
            Effect.succeed<number | string>(
              StatusError.isStatusError(e)
                ? e.status
                : e instanceof Coordinator.OriginHeld
                ? "held"
                : (e as { _tag?: string })._tag ?? "error"
            )
          ),
          Effect.map((result): CallOutcome => ({ call, start, end: now(), result }))
        )
    },
    { concurrency: "unbounded" }
  )
  const fallbacks = (yield* Metric.value(RedisCoordinator.fallbacks)).count
  process.send!({ kind: "done", outcomes, fallbacks, warnings } satisfies FromWorker)
})

Effect.runFork(
  program.pipe(
    Effect.provide(Layer.merge(coordinator, NodeHttpClient.layerUndici)),
    Effect.provide(Logger.add(counting))
  )
)
