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
import { monitorEventLoopDelay } from "node:perf_hooks"
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
  /** Each call's timeout, in seconds. */
  readonly callTimeout: number
  /** The server's limit, told to the coordinator (`coordinator.limits`, for the server's origin). */
  readonly told?: { readonly requests: number; readonly windowMs: number; readonly backToBack: boolean }
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
    /** The longest the worker's event loop was late during the timed calls, in milliseconds. */
    readonly stallMs: number
  }

const setup = JSON.parse(process.argv[2]!) as WorkerSetup
process.on("disconnect", () => process.exit(0))

let warnings = 0
const counting = Logger.make(({ logLevel }) => {
  if (logLevel === LogLevel.Warning) warnings++
})

const coordinator = setup.coordinator === "memory"
  ? Coordinator.layer()
  : RedisCoordinator.layer({
    url: setup.redisUrl,
    prefix: setup.prefix,
    timeout: setup.timeout,
    ...(setup.told === undefined ? {} : {
      coordinator: {
        limits: {
          [new URL(setup.url).origin]: {
            requests: setup.told.requests,
            window: `${setup.told.windowMs} millis`,
            backToBack: setup.told.backToBack
          }
        }
      }
    })
  })

const program = Effect.gen(function*() {
  const client = withStatusRetry({ timeout: `${setup.callTimeout} seconds` })(yield* HttpClient.HttpClient)
  // Calls to another origin first (the warm-up server, whose answers carry a large quota), as many at once as the timed
  // run makes, three times: the timed requests pay neither for loading and compiling the client's and the
  // coordinator's code (a cold process took 200-800 ms for its first requests on a busy machine), nor for the
  // connection to Redis.
  for (let round = 0; round < 3; round++) {
    yield* Effect.forEach(
      Array.from({ length: setup.calls }, (_, i) => i),
      (i) => Effect.ignore(client.get(`${setup.warmUp}/${round}/${i}`)),
      { concurrency: "unbounded", discard: true }
    )
  }
  // And the connections to the rate-limited server, as many as the timed run may use at once, opened by plain requests
  // (no coordinator, no retries) to a path it neither counts nor answers with quota fields: in a fleet that has been
  // running a while, the first request of a window does not wait for a TCP connection either (a cold worker took
  // 40-70 ms to send a burst of 30 on a busy machine, most of a window's first-to-last time).
  const plain = yield* HttpClient.HttpClient
  yield* Effect.forEach(
    Array.from({ length: setup.calls }, (_, i) => i),
    (i) => Effect.ignore(plain.get(`${setup.url}/warm-up/${i}`)),
    { concurrency: "unbounded", discard: true }
  )
  process.send!({ kind: "ready" } satisfies FromWorker)
  yield* Effect.async<void>((resume) => {
    process.once("message", () => resume(Effect.void))
  })
  const before = (yield* Metric.value(RedisCoordinator.fallbacks)).count
  const stalls = monitorEventLoopDelay({ resolution: 5 })
  stalls.enable()
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
  stalls.disable()
  const fallbacks = (yield* Metric.value(RedisCoordinator.fallbacks)).count - before
  const stallMs = stalls.max / 1e6
  process.send!({ kind: "done", outcomes, fallbacks, warnings, stallMs } satisfies FromWorker)
})

Effect.runFork(
  program.pipe(
    Effect.provide(Layer.merge(coordinator, NodeHttpClient.layerUndici)),
    Effect.provide(Logger.add(counting))
  )
)
