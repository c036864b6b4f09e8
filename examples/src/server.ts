/**
 * A small real HTTP server on 127.0.0.1 for the examples: every request is recorded with its arrival time, and a
 * handler decides the answer.
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as http from "node:http"
import type { AddressInfo } from "node:net"

export interface Arrival {
  readonly at: number
  readonly method: string
  readonly path: string
  readonly headers: http.IncomingHttpHeaders
  /** What the server answered. */
  reply: Reply
}

export interface Reply {
  readonly status: number
  readonly headers?: Record<string, string>
  readonly body?: string
}

export interface LocalServer {
  readonly url: string
  readonly startedAt: number
  readonly arrivals: ReadonlyArray<Arrival>
}

/** Starts a server for the life of the scope; `handle` answers each request. */
export const serve = (
  handle: (arrival: Arrival, index: number) => Reply,
  onArrival?: (arrival: Arrival) => void
): Effect.Effect<LocalServer, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.async<{ server: http.Server; local: LocalServer }>((resume) => {
      const arrivals: Array<Arrival> = []
      const server = http.createServer((req, res) => {
        const arrival: Arrival = {
          at: Date.now(),
          method: req.method ?? "GET",
          path: req.url ?? "/",
          headers: req.headers,
          reply: { status: 0 }
        }
        const reply = handle(arrival, arrivals.length)
        arrival.reply = reply
        arrivals.push(arrival)
        onArrival?.(arrival)
        req.resume()
        res.writeHead(reply.status, { "content-type": "application/json", ...reply.headers })
        res.end(reply.body ?? JSON.stringify({ status: reply.status }))
      })
      server.listen(0, "127.0.0.1", () => {
        const { port } = server.address() as AddressInfo
        resume(Effect.succeed({ server, local: { url: `http://127.0.0.1:${port}`, startedAt: Date.now(), arrivals } }))
      })
    }),
    ({ server }) =>
      Effect.async<void>((resume) => {
        server.closeAllConnections()
        server.close(() => resume(Effect.void))
      })
  ).pipe(Effect.map(({ local }) => local))
