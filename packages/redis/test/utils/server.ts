/**
 * A rate-limited API on 127.0.0.1 for the integration tests: fixed windows of `windowMs` that do not start on whole
 * seconds, `limit` requests per window and key (all clients share it), `X-RateLimit-Limit`, `-Remaining` and
 * `-Reset` (whole seconds until the window ends, rounded up) on every answer, and 429 with `Retry-After` past the
 * limit. It records every arrival. With `quiet`, its windows start with the first request after the last one
 * ended (as express-rate-limit's store counts) and its answers say nothing of the limit: a bare 429 past it. With
 * `policy`, the same windows, and the IETF fields on every answer, naming that policy (`RateLimit: "<policy>";r=;t=`,
 * `t` in whole seconds rounded up, and `RateLimit-Policy: "<policy>";q=;w=`).
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
  options: { readonly limit: number; readonly windowMs: number; readonly quiet?: boolean; readonly policy?: string }
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
        // (Windows from the first request: the current window's index and start.)
        const fromFirst = options.quiet === true || options.policy !== undefined
        let current = -1
        let started = Number.NEGATIVE_INFINITY
        const server = Http.createServer((request, response) => {
          const at = Date.now()
          if (fromFirst && at >= started + options.windowMs) {
            current++
            started = at
          }
          const window = fromFirst ? current : Math.floor((at - origin) / options.windowMs)
          const count = (used.get(window) ?? 0) + 1
          used.set(window, count)
          const end = fromFirst ? started + options.windowMs : origin + (window + 1) * options.windowMs
          const resetIn = Math.max(1, Math.ceil((end - at) / 1000))
          const status = count <= options.limit ? 200 : 429
          arrivals.push({ at, status, window })
          const remaining = String(Math.max(0, options.limit - count))
          const headers: Record<string, string> = options.quiet === true
            ? { "content-type": "application/json" }
            : options.policy !== undefined
            ? {
              "content-type": "application/json",
              "ratelimit": `"${options.policy}";r=${remaining};t=${resetIn}`,
              // (`w` in whole seconds, as the fields allow: left out for a shorter window.)
              "ratelimit-policy": `"${options.policy}";q=${options.limit}${
                options.windowMs % 1000 === 0 ? `;w=${options.windowMs / 1000}` : ""
              }`
            }
            : {
              "content-type": "application/json",
              "x-ratelimit-limit": String(options.limit),
              "x-ratelimit-remaining": remaining,
              "x-ratelimit-reset": String(resetIn)
            }
          if (status === 429 && options.quiet !== true && options.policy === undefined) {
            headers["retry-after"] = String(resetIn)
          }
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
