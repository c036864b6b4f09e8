/**
 * A rate-limited API on 127.0.0.1 for the integration tests: fixed windows of `windowMs` that do not start on whole
 * seconds, `limit` requests per window and key (all clients share it), `X-RateLimit-Limit`, `-Remaining` and
 * `-Reset` (whole seconds until the window ends, rounded up) on every answer, and 429 with `Retry-After` past the
 * limit. It records every arrival. With `quiet`, its windows start with the first request after the last one
 * ended (as express-rate-limit's store counts) and its answers say nothing of the limit: a bare 429 past it.
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as Http from "node:http"
import type * as Net from "node:net"

export interface Arrival {
  readonly at: number
  readonly status: number
  /** The index of the window it arrived in, from 0. */
  readonly window: number
}

export interface LimitedServer {
  readonly url: (path: string) => string
  readonly arrivals: ReadonlyArray<Arrival>
}

export const limited = (
  options: { readonly limit: number; readonly windowMs: number; readonly quiet?: boolean }
): Effect.Effect<
  LimitedServer,
  never,
  Scope.Scope
> =>
  Effect.acquireRelease(
    Effect.promise(() =>
      new Promise<LimitedServer & { readonly server: Http.Server }>((resolve) => {
        // Windows start 377 ms into a second: a client that rounds the reset to a whole second is late, never early.
        const origin = Math.floor(Date.now() / 1000) * 1000 + 377
        const arrivals: Array<Arrival> = []
        const used = new Map<number, number>()
        // (Quiet: the current window's index and start.)
        let current = -1
        let started = Number.NEGATIVE_INFINITY
        const server = Http.createServer((request, response) => {
          const at = Date.now()
          if (options.quiet === true && at >= started + options.windowMs) {
            current++
            started = at
          }
          const window = options.quiet === true ? current : Math.floor((at - origin) / options.windowMs)
          const count = (used.get(window) ?? 0) + 1
          used.set(window, count)
          const end = origin + (window + 1) * options.windowMs
          const resetIn = Math.max(1, Math.ceil((end - at) / 1000))
          const status = count <= options.limit ? 200 : 429
          arrivals.push({ at, status, window })
          const headers: Record<string, string> = options.quiet === true
            ? { "content-type": "application/json" }
            : {
              "content-type": "application/json",
              "x-ratelimit-limit": String(options.limit),
              "x-ratelimit-remaining": String(Math.max(0, options.limit - count)),
              "x-ratelimit-reset": String(resetIn)
            }
          if (status === 429 && options.quiet !== true) headers["retry-after"] = String(resetIn)
          request.resume()
          response.writeHead(status, headers).end(JSON.stringify({ path: request.url }))
        })
        server.listen(0, "127.0.0.1", () => {
          const port = (server.address() as Net.AddressInfo).port
          resolve({ server, arrivals, url: (path) => `http://127.0.0.1:${port}${path}` })
        })
      })
    ),
    ({ server }) =>
      Effect.promise(() =>
        new Promise<void>((resolve) => {
          server.closeAllConnections()
          server.close(() => resolve())
        })
      )
  )
