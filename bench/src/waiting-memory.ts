/**
 * Memory held per call that waits on a `Retry-After`: N calls through `withStatusRetry()` to a local server that
 * answers every request `429` with `Retry-After: 120` (long enough that no call wakes up while the calls are counted), measured once every call has had its answer and is asleep,
 * against N bare `Effect.sleep` fibers.
 *
 * `node --expose-gc bench/build/waiting-memory.js [sleep|plain|retry|coordinated] [N]` (default: all, N = 10000).
 * `plain` is the same request through the bare client, its body read, then a sleep: the connections' share.
 * Each mode runs in a process of its own: `heapUsed` after `gc()` with the N calls waiting, minus `heapUsed` after
 * `gc()` before they start (client, server and runtime already warm), divided by N. Prints one JSON line per mode.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { Coordinator } from "@effect-retry/core"
import { withStatusRetry } from "@effect-retry/platform"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import { spawnSync } from "node:child_process"
import * as Http from "node:http"
import * as Undici from "undici"
import type * as Net from "node:net"
import { fileURLToPath } from "node:url"
import * as V8 from "node:v8"

type Mode = "sleep" | "plain" | "retry" | "coordinated"
const MODES: ReadonlyArray<Mode> = ["sleep", "plain", "retry", "coordinated"]

const gc = (): void => {
  const collect = (globalThis as { gc?: () => void }).gc
  if (collect === undefined) throw new Error("run with node --expose-gc")
  for (let i = 0; i < 4; i++) collect()
}

const heapAfterGc = (): number => {
  gc()
  return process.memoryUsage().heapUsed
}

const measure = async (mode: Mode, n: number): Promise<{ mode: Mode; calls: number; bytesPerCall: number }> => {
  let answered = 0
  const server = Http.createServer((_request, response) => {
    answered++
    response.writeHead(429, { "retry-after": "120", "content-type": "text/plain" })
    response.end("slow down")
  })
  server.keepAliveTimeout = 60_000
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const url = `http://127.0.0.1:${(server.address() as Net.AddressInfo).port}/limited`
  const coordinator = Effect.runSync(Coordinator.make())
  // A pool of 64 connections, as a service would configure it: 10^4 sockets at once would measure the kernel.
  const agent = new Undici.Agent({ connections: 64 })
  const runtime = ManagedRuntime.make(Layer.succeed(HttpClient.HttpClient, NodeHttpClient.makeUndici(agent)))

  // One client for every call, as a program holds it.
  const bare = await runtime.runPromise(HttpClient.HttpClient)
  const client = bare.pipe(withStatusRetry({ maxRetryAfter: "5 minutes", budget: "5 minutes" }))
  const call = client.get(url)
  const waiting: Effect.Effect<unknown, unknown> = mode === "sleep"
    ? Effect.sleep("5 minutes")
    : mode === "plain"
    // The same request and connections, its body read, then a sleep without any retry logic.
    ? Effect.zipRight(Effect.flatMap(bare.get(url), (response) => response.text), Effect.sleep("5 minutes"))
    : mode === "coordinated"
    ? Effect.provideService(call, Coordinator.Coordinator, coordinator)
    : call

  // Warm up: client, server, runtime and the code paths, then let the calls go.
  const warm = Array.from({ length: 50 }, () => runtime.runFork(waiting))
  await new Promise((resolve) => setTimeout(resolve, 500))
  await Effect.runPromise(Fiber.interruptAll(warm))
  const base = answered
  const expected = base + (mode === "sleep" ? 0 : n)

  const before = heapAfterGc()
  const fibers = Array.from({ length: n }, () => runtime.runFork(waiting))
  // Every call has had its 429 (or is held by the coordinator behind the first ones), and sleeps.
  const deadline = Date.now() + 120_000
  while (mode !== "sleep" && answered < expected && Date.now() < deadline) {
    // The coordinator holds the origin after the first 429: the calls wait in it without a request.
    if (mode === "coordinated") break
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  await new Promise((resolve) => setTimeout(resolve, 1_000))
  const after = heapAfterGc()
  if (process.env.WAITING_MEMORY_SNAPSHOT) V8.writeHeapSnapshot(process.env.WAITING_MEMORY_SNAPSHOT)
  const result = { mode, calls: n, answered: answered - base, bytesPerCall: Math.round((after - before) / n) }
  await Effect.runPromise(Fiber.interruptAll(fibers))
  await runtime.dispose()
  await agent.close()
  server.closeAllConnections()
  server.close()
  return result
}

const main = async () => {
  const [modeArg, nArg] = process.argv.slice(2)
  const n = nArg === undefined ? 10_000 : Number(nArg)
  if (modeArg !== undefined && (MODES as ReadonlyArray<string>).includes(modeArg)) {
    console.log(JSON.stringify(await measure(modeArg as Mode, n)))
    process.exit(0)
  }
  for (const mode of MODES) {
    const run = spawnSync(process.execPath, ["--expose-gc", fileURLToPath(import.meta.url), mode, String(n)], {
      stdio: ["ignore", "pipe", "inherit"],
      encoding: "utf8"
    })
    process.stdout.write(run.stdout)
  }
}

main()
