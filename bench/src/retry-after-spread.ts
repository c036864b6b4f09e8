/**
 * Does the default `retryAfterSpread` earn its cost? CALLS calls at once through `withStatusRetry()` over
 * `NodeHttpClient` against a server on 127.0.0.1 that accepts LIMIT requests per fixed one-second window and answers
 * the rest 429 with `Retry-After` (whole seconds to the window's end, as real servers send it), with the spread at
 * its default (0.02) and at 0, ROUNDS times each in alternation.
 *
 * For each setting: the time until every call has succeeded, against the ideal (the start of the window in which the
 * last call can be accepted); the requests sent; and how long after the instant told the retries arrived (median
 * and largest delay past it), which is what the spread adds to each wait.
 *
 * `node bench/build/retry-after-spread.js` prints one JSON line.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { withStatusRetry } from "@effect-retry/platform"
import * as Effect from "effect/Effect"
import * as http from "node:http"
import type { AddressInfo } from "node:net"

const CALLS = 120
const LIMIT = 40
const ROUNDS = Number(process.env["SPREAD_ROUNDS"] ?? 3)

interface Round {
  readonly spread: number
  readonly ratio: number
  readonly requests: number
  readonly lateMedianMs: number
  readonly lateMaxMs: number
}

const median = (xs: ReadonlyArray<number>): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]!
}

const round = async (spread: number): Promise<Round> => {
  // Fixed windows from a whole second, so every call told to come back is told the same instant.
  let windowStart = 0
  let used = 0
  let requests = 0
  const late: Array<number> = []
  const told = new Map<string, number>()
  const server = http.createServer((request, response) => {
    const at = Date.now()
    requests++
    const current = Math.floor(at / 1000) * 1000
    if (current !== windowStart) {
      windowStart = current
      used = 0
    }
    const key = request.url ?? ""
    const instant = told.get(key)
    if (instant !== undefined) late.push(at - instant)
    if (used < LIMIT) {
      used++
      response.writeHead(200, { "content-length": "2" })
      return response.end("ok")
    }
    const resetAt = windowStart + 1000
    const seconds = Math.max(1, Math.ceil((resetAt - at) / 1000))
    // The instant a whole-second Retry-After names, from when the answer leaves.
    told.set(key, at + seconds * 1000)
    response.writeHead(429, { "retry-after": String(seconds), "content-length": "4" })
    return response.end("slow")
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const port = (server.address() as AddressInfo).port
  // Start just after a window opens, as the peers of the rate-limit workload do.
  await new Promise((resolve) => setTimeout(resolve, 1000 - (Date.now() % 1000) + 5))
  const started = Date.now()
  const program = Effect.gen(function*() {
    const client = (yield* HttpClient.HttpClient).pipe(withStatusRetry({ retryAfterSpread: spread }))
    yield* Effect.forEach(
      Array.from({ length: CALLS }, (_, i) => i),
      (i) => Effect.flatMap(client.get(`http://127.0.0.1:${port}/items/${i}`), (r) => r.text),
      { concurrency: "unbounded", discard: true }
    )
  }).pipe(Effect.provide(NodeHttpClient.layer))
  await Effect.runPromise(program)
  const took = Date.now() - started
  server.close()
  server.closeAllConnections()
  // The last call can be accepted at the start of window ceil(CALLS / LIMIT) - 1 after the first.
  const ideal = (Math.ceil(CALLS / LIMIT) - 1) * 1000
  return {
    spread,
    ratio: +(took / ideal).toFixed(3),
    requests,
    lateMedianMs: median(late),
    lateMaxMs: Math.max(...late)
  }
}

const rows: Array<Round> = []
for (let r = 0; r < ROUNDS; r++) {
  rows.push(await round(0.02))
  rows.push(await round(0))
}
const summary = (spread: number) => {
  const mine = rows.filter((row) => row.spread === spread)
  return {
    spread,
    ratios: mine.map((row) => row.ratio),
    requests: mine.map((row) => row.requests),
    lateMedianMs: mine.map((row) => row.lateMedianMs),
    lateMaxMs: mine.map((row) => row.lateMaxMs)
  }
}
process.stdout.write(
  JSON.stringify({ calls: CALLS, limit: LIMIT, rounds: ROUNDS, rows: [summary(0.02), summary(0)] }) + "\n"
)
