/**
 * Fleet mode: three workers behind one API key share one rate limit (10 requests per second). Each worker is its own
 * process in production; here each has its own coordinator and its own Redis connection, as a process would.
 *
 * Round 1: each worker with its own in-memory coordinator learns the limit alone, and together they overrun it.
 * Round 2: the workers share each bucket through Redis (`RedisCoordinator.layer`): the fleet sends at most the
 * server's limit per window, one request per call.
 *
 * Redis: `EFFECT_RETRY_REDIS_URL` if set, else a `redis-server` started on a free port of 127.0.0.1 for the run.
 */
import { NodeHttpClient, NodeRuntime } from "@effect/platform-node"
import * as HttpClient from "@effect/platform/HttpClient"
import { Coordinator } from "@effect-retry/core"
import { withStatusRetry } from "@effect-retry/platform"
import { RedisCoordinator } from "@effect-retry/redis"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { spawn } from "node:child_process"
import * as net from "node:net"
import { type LocalServer, serve } from "./server.js"

const LIMIT = 10
const WORKERS = 3
const CALLS_PER_WORKER = 10

/** 10 requests per 1 s window for everyone (one API key), windows counted from the server's start. */
const api = Effect.suspend(() => {
  const used = new Map<number, number>()
  let startedAt = 0
  return serve((arrival) => {
    startedAt ||= arrival.at
    const window = Math.floor((arrival.at - startedAt) / 1000)
    const count = (used.get(window) ?? 0) + 1
    used.set(window, count)
    const resetIn = String(Math.ceil((startedAt + (window + 1) * 1000 - arrival.at) / 1000))
    const headers = {
      "x-ratelimit-limit": String(LIMIT),
      "x-ratelimit-remaining": String(Math.max(0, LIMIT - count)),
      "x-ratelimit-reset": resetIn
    }
    return count <= LIMIT
      ? { status: 200, headers, body: "ok" }
      : { status: 429, headers: { ...headers, "retry-after": resetIn } }
  })
})

/** One worker: its own client and coordinator, its calls at once. */
const worker = (server: LocalServer, id: number, coordinator: Coordinator.Coordinator) =>
  Effect.gen(function*() {
    const client = (yield* HttpClient.HttpClient).pipe(withStatusRetry())
    yield* Effect.forEach(
      Array.from({ length: CALLS_PER_WORKER }, (_, i) => i),
      (i) => Effect.ignore(client.get(`${server.url}/reports/${id}-${i}`)),
      { concurrency: "unbounded" }
    )
  }).pipe(Effect.provideService(Coordinator.Coordinator, coordinator))

const round = (title: string, coordinators: ReadonlyArray<Coordinator.Coordinator>) =>
  Effect.gen(function*() {
    const server = yield* api
    const began = Date.now()
    yield* Effect.forEach(coordinators, (coordinator, id) => worker(server, id, coordinator), {
      concurrency: "unbounded"
    })
    const requests = server.arrivals.length
    const refused = server.arrivals.filter((a) => a.reply.status === 429).length
    const calls = WORKERS * CALLS_PER_WORKER
    console.log(
      `${title}: ${calls} calls, ${requests} requests (${(requests / calls).toFixed(2)} per call), ` +
        `${refused} refused with 429, ${((Date.now() - began) / 1000).toFixed(2)} s`
    )
    return { requests, refused }
  }).pipe(Effect.scoped)

/** Where to find Redis: `EFFECT_RETRY_REDIS_URL`, or a redis-server of the example's own. */
const redisUrl: Effect.Effect<string, never, Scope.Scope> = Effect.suspend(() => {
  const url = process.env["EFFECT_RETRY_REDIS_URL"]
  if (url !== undefined && url !== "") return Effect.succeed(url)
  return Effect.acquireRelease(
    Effect.promise(async () => {
      const port = await new Promise<number>((resolve) => {
        const probe = net.createServer().listen(0, "127.0.0.1", () => {
          const { port } = probe.address() as net.AddressInfo
          probe.close(() => resolve(port))
        })
      })
      const child = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", ""], {
        stdio: "ignore"
      })
      const failed = new Promise<never>((_, reject) =>
        child.once(
          "error",
          () =>
            reject(
              new Error(
                "the fleet example needs redis-server (apt-get install -y redis-server) or EFFECT_RETRY_REDIS_URL"
              )
            )
        )
      )
      for (let i = 0; i < 100; i++) {
        const up = await Promise.race([failed, answers(port)])
        if (up) return { child, port }
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
      child.kill("SIGKILL")
      throw new Error(`redis-server did not answer on port ${port}`)
    }),
    ({ child }) => Effect.sync(() => child.kill("SIGKILL"))
  ).pipe(Effect.map(({ port }) => `redis://127.0.0.1:${port}`))
})

const answers = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = net.connect(port, "127.0.0.1", () => socket.end("PING\r\n"))
    socket.once("data", (data) => resolve(String(data).startsWith("+PONG")))
    socket.once("error", () => resolve(false))
    socket.once("close", () => resolve(false))
  })

export const main = Effect.gen(function*() {
  const alone = yield* round(
    "each worker alone (in-memory coordinators)",
    yield* Effect.all(Array.from({ length: WORKERS }, () => Coordinator.make()))
  )
  const url = yield* redisUrl
  const prefix = `fleet-example-${Date.now()}`
  const shared = yield* round(
    "the workers sharing Redis (RedisCoordinator)",
    // Each Redis call waits 75 ms by default, then the worker decides alone (at its share of the limit); a
    // generous time-out keeps this demonstration about sharing on a busy machine.
    yield* Effect.all(
      Array.from({ length: WORKERS }, () => RedisCoordinator.make({ url, prefix, timeout: "1 second" }))
    )
  )
  return { alone, shared }
}).pipe(Effect.scoped, Effect.provide(NodeHttpClient.layerUndici))

if (import.meta.url === `file://${process.argv[1]}`) {
  NodeRuntime.runMain(main)
}
