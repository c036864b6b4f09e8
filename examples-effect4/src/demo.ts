/**
 * The Effect 4 line against a real server on 127.0.0.1 that allows 5 requests per second and answers 429 beyond
 * that, with only `X-RateLimit-*` headers. Twelve calls go at once, twice: with `withStatusRetry()` alone, each
 * call that meets a full window is told 429 and comes back at the reset; with `Coordinator.layer()` provided, the
 * first answer teaches the limit to all twelve, and each sends one request.
 *
 * Run it: `pnpm demo:effect4` at the top of the repository.
 */
import { Coordinator, withStatusRetry } from "@effect-retry/effect4"
import * as Effect from "effect/Effect"
import * as FetchHttpClient from "effect/http/FetchHttpClient"
import * as HttpClient from "effect/http/HttpClient"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import * as http from "node:http"
import type { AddressInfo } from "node:net"

/** Requests the server accepts per second (its windows start when it does). */
export const LIMIT = 5
/** Calls made at once in each round. */
export const CALLS = 12

/** A round: how many requests reached the server, how many it refused with 429, and how long the calls took. */
export interface Round {
  readonly statuses: ReadonlyArray<number>
  readonly sent: number
  readonly refused: number
  readonly elapsed: number
}

/** The rate-limited server for the life of the scope: its URL and what it counted. */
const rateLimited: Effect.Effect<
  { readonly url: string; readonly counts: { sent: number; refused: number } },
  never,
  Scope.Scope
> = Effect.acquireRelease(
  Effect.callback<{ server: http.Server; url: string; counts: { sent: number; refused: number } }>((resume) => {
    const counts = { sent: 0, refused: 0 }
    const used = new Map<number, number>()
    let startedAt = 0
    const server = http.createServer((request, response) => {
      const now = Date.now()
      const window = Math.floor((now - startedAt) / 1000)
      const taken = used.get(window) ?? 0
      used.set(window, taken + 1)
      counts.sent++
      const headers = {
        "content-type": "application/json",
        "x-ratelimit-limit": String(LIMIT),
        "x-ratelimit-remaining": String(Math.max(0, LIMIT - taken - 1)),
        // Whole seconds to the window's end, rounded up: never sooner than it.
        "x-ratelimit-reset": String(Math.ceil((startedAt + (window + 1) * 1000 - now) / 1000))
      }
      if (taken >= LIMIT) counts.refused++
      request.resume()
      response.writeHead(taken < LIMIT ? 200 : 429, headers)
      response.end(JSON.stringify({ path: request.url }))
    })
    server.listen(0, "127.0.0.1", () => {
      startedAt = Date.now()
      const { port } = server.address() as AddressInfo
      resume(Effect.succeed({ server, url: `http://127.0.0.1:${port}`, counts }))
    })
  }),
  ({ server }) =>
    Effect.callback<void>((resume) => {
      server.closeAllConnections()
      server.close(() => resume(Effect.void))
    })
)

/** Twelve calls at once through `withStatusRetry()`, with whatever coordinator `layer` provides. */
const round = <R>(name: string, layer: Layer.Layer<R>): Effect.Effect<Round> =>
  Effect.scoped(Effect.gen(function*() {
    const server = yield* rateLimited
    const startedAt = Date.now()
    const client = (yield* HttpClient.HttpClient).pipe(withStatusRetry({ maxAttempts: 5 }))
    const statuses = yield* Effect.forEach(
      Array.from({ length: CALLS }, (_, i) => i + 1),
      (i) => Effect.map(client.get(`${server.url}/items/${i}`), (response) => response.status),
      { concurrency: "unbounded" }
    )
    const result: Round = { statuses, ...server.counts, elapsed: Date.now() - startedAt }
    console.log(
      `${name.padEnd(29)} ${CALLS} calls, ${result.sent} requests, ${result.refused} refused with 429, ` +
        `${(result.elapsed / 1000).toFixed(2)} s`
    )
    return result
  })).pipe(Effect.provide(Layer.merge(FetchHttpClient.layer, layer)), Effect.orDie)

/** Both rounds, one after the other, each on a server of its own. */
export const main: Effect.Effect<{ readonly alone: Round; readonly coordinated: Round }> = Effect.gen(function*() {
  console.log(`A server that allows ${LIMIT} requests per second; ${CALLS} calls at once.`)
  const alone = yield* round("1. withStatusRetry() alone", Layer.empty)
  const coordinated = yield* round("2. with Coordinator.layer()", Coordinator.layer())
  return { alone, coordinated }
})

if (import.meta.url === `file://${process.argv[1]}`) {
  Effect.runPromise(main).catch((error: unknown) => {
    console.error(error)
    process.exitCode = 1
  })
}
