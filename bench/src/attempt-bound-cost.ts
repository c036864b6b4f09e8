/**
 * What bounding an attempt in time costs per request, on a client that answers 200 without I/O: the bare request,
 * and the same request raced against a timer by `Effect.timeoutFail`, by `Effect.raceFirst` with a sleep, and by
 * `withStatusRetry()` (whose attempts are bounded by the call's timeout).
 *
 * `node --expose-gc bench/build/attempt-bound-cost.js`: for each way, the median over 9 runs of the time per request
 * of 20 000 sequential requests in one `Effect.runPromise`, and the bytes allocated per request (`heapUsed` growth
 * over 2 000 requests, with the young generation large enough that no collection runs). Prints one JSON line per way.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { withStatusRetry } from "@effect-retry/platform"
import * as Effect from "effect/Effect"
import { spawnSync } from "node:child_process"
import { fileURLToPath } from "node:url"

const bare = HttpClient.make((request) =>
  Effect.succeed(HttpClientResponse.fromWeb(request, new Response(null, { status: 200 })))
)
const timeoutError = () => new HttpClientError.RequestError({ request: undefined as never, reason: "Transport" })

const ways: Record<string, Effect.Effect<unknown, unknown>> = {
  bare: bare.get("http://api.test/items"),
  timeoutFail: Effect.timeoutFail(bare.get("http://api.test/items"), { duration: 30_000, onTimeout: timeoutError }),
  raceFirst: Effect.raceFirst(
    bare.get("http://api.test/items"),
    Effect.zipRight(Effect.sleep(30_000), Effect.fail(timeoutError()))
  ),
  withStatusRetry: bare.pipe(withStatusRetry()).get("http://api.test/items"),
  "withStatusRetry attemptTimeout": bare.pipe(withStatusRetry({ attemptTimeout: "10 seconds" })).get(
    "http://api.test/items"
  )
}

const TIME_BATCH = 20_000
const MEMORY_BATCH = 2_000

const run = async (name: string) => {
  const one = ways[name]!
  const batch = (n: number) => Effect.runPromise(Effect.repeatN(Effect.ignore(one), n - 1))
  await batch(TIME_BATCH)
  const times: Array<number> = []
  for (let i = 0; i < 9; i++) {
    const start = process.hrtime.bigint()
    await batch(TIME_BATCH)
    times.push(Number(process.hrtime.bigint() - start) / TIME_BATCH)
  }
  times.sort((a, b) => a - b)
  const gc = (globalThis as { gc?: () => void }).gc!
  const bytes: Array<number> = []
  for (let i = 0; i < 9; i++) {
    gc()
    const before = process.memoryUsage().heapUsed
    await batch(MEMORY_BATCH)
    bytes.push((process.memoryUsage().heapUsed - before) / MEMORY_BATCH)
  }
  bytes.sort((a, b) => a - b)
  return { way: name, nsPerRequest: Math.round(times[4]!), bytesPerRequest: Math.round(bytes[4]!) }
}

const main = async () => {
  const name = process.argv[2]
  if (name !== undefined) {
    console.log(JSON.stringify(await run(name)))
    return
  }
  for (const way of Object.keys(ways)) {
    const child = spawnSync(
      process.execPath,
      ["--expose-gc", "--max-semi-space-size=128", fileURLToPath(import.meta.url), way],
      { stdio: ["ignore", "pipe", "inherit"], encoding: "utf8" }
    )
    process.stdout.write(child.stdout)
  }
}

main()
