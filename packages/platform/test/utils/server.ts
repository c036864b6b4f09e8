/**
 * Test servers on 127.0.0.1 for the integration tests: an Effect `HttpRouter` served by `NodeHttpServer`, replying
 * from a script and recording every request (arrival time, method, path, headers, socket), a raw `node:http` server
 * for what a router cannot do (reset a connection mid-body), and a port with nothing listening.
 */
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServer from "@effect/platform/HttpServer"
import type * as HttpServerError from "@effect/platform/HttpServerError"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as Http from "node:http"
import type * as Net from "node:net"

/** One request as the server saw it. */
export interface Arrival {
  /** Position among all requests the server received, from 0. */
  readonly index: number
  /** Position among the requests with the same method and path, from 0. */
  readonly nth: number
  readonly method: string
  readonly path: string
  /** Request headers, lower-case names. */
  readonly headers: Readonly<Record<string, string | undefined>>
  /** The request body as text. */
  readonly body: string
  /** Date.now() when the handler started. */
  readonly arrivedAt: number
  /** Which TCP connection carried it (1 for the first connection the server accepted, ...). */
  readonly socket: number
  /** Date.now() when the reply was handed to node:http (after any scripted delay); undefined before. */
  respondedAt: number | undefined
}

/** What the server answers to one request. */
export interface Reply {
  readonly status: number
  readonly headers?: Readonly<Record<string, string>>
  readonly body?: string
  /** Milliseconds to wait before answering. */
  readonly delayMillis?: number
}

/** A running test server. */
export interface TestServer {
  readonly port: number
  /** `http://127.0.0.1:<port><path>` */
  readonly url: (path: string) => string
  /** Every request so far, in arrival order. */
  readonly arrivals: ReadonlyArray<Arrival>
  /** The requests for one path, in arrival order. */
  readonly on: (path: string) => ReadonlyArray<Arrival>
  /** TCP connections the server accepted so far. */
  readonly connections: () => number
}

const headerRecord = (headers: Http.IncomingHttpHeaders): Record<string, string | undefined> => {
  const out: Record<string, string | undefined> = {}
  for (const [name, value] of Object.entries(headers)) out[name] = Array.isArray(value) ? value.join(", ") : value
  return out
}

const makeServer = (
  sockets: WeakMap<Net.Socket, number>,
  count: { connections: number }
): Http.Server => {
  const server = Http.createServer()
  server.on("connection", (socket) => {
    count.connections += 1
    sockets.set(socket, count.connections)
  })
  return server
}

/**
 * Serves an `HttpRouter` on 127.0.0.1 (a port of its own) for the life of the scope; `reply` scripts the answer to
 * each request from what was seen so far.
 */
export const serve = (
  reply: (arrival: Arrival) => Reply
): Effect.Effect<TestServer, HttpServerError.ServeError, Scope.Scope> =>
  Effect.gen(function*() {
    const arrivals: Array<Arrival> = []
    const sockets = new WeakMap<Net.Socket, number>()
    const count = { connections: 0 }
    let node: Http.Server | undefined
    const server = yield* NodeHttpServer.make(() => (node = makeServer(sockets, count)), {
      port: 0,
      host: "127.0.0.1"
    })
    // Runs before the server's own close: keep-alive connections of the client must not hold the close up.
    yield* Effect.addFinalizer(() => Effect.sync(() => node?.closeAllConnections()))
    const address = server.address
    if (address._tag !== "TcpAddress") return yield* Effect.dieMessage("expected a TCP address")
    const port = address.port

    const handler = Effect.gen(function*() {
      const request = yield* HttpServerRequest.HttpServerRequest
      const incoming = NodeHttpServerRequest.toIncomingMessage(request)
      const arrivedAt = Date.now()
      const path = new URL(request.url, "http://127.0.0.1").pathname
      const body = yield* Effect.orElseSucceed(request.text, () => "<unreadable>")
      const arrival: Arrival = {
        index: arrivals.length,
        nth: arrivals.filter((a) => a.path === path && a.method === request.method).length,
        method: request.method,
        path,
        headers: headerRecord(incoming.headers),
        body,
        arrivedAt,
        socket: sockets.get(incoming.socket) ?? -1,
        respondedAt: undefined
      }
      arrivals.push(arrival)
      const answer = reply(arrival)
      if (answer.delayMillis !== undefined) yield* Effect.sleep(answer.delayMillis)
      arrival.respondedAt = Date.now()
      return HttpServerResponse.text(answer.body ?? "", {
        status: answer.status,
        ...(answer.headers === undefined ? {} : { headers: answer.headers })
      })
    })

    const router = HttpRouter.empty.pipe(HttpRouter.all("*", handler))
    yield* HttpServer.serveEffect(router).pipe(Effect.provideService(HttpServer.HttpServer, server))

    return {
      port,
      url: (path: string) => `http://127.0.0.1:${port}${path}`,
      arrivals,
      on: (path: string) => arrivals.filter((a) => a.path === path),
      connections: () => count.connections
    }
  })

/** A raw node:http server on 127.0.0.1 for the life of the scope; `handler` also gets the request's position. */
export const serveRaw = (
  handler: (request: Http.IncomingMessage, response: Http.ServerResponse, index: number) => void
): Effect.Effect<
  { readonly port: number; readonly url: (path: string) => string; readonly requests: () => number },
  never,
  Scope.Scope
> =>
  Effect.gen(function*() {
    let requests = 0
    const server = Http.createServer((request, response) => handler(request, response, requests++))
    yield* Effect.acquireRelease(
      Effect.async<void>((resume) => {
        server.listen(0, "127.0.0.1", () => resume(Effect.void))
      }),
      () =>
        Effect.async<void>((resume) => {
          server.closeAllConnections()
          server.close(() => resume(Effect.void))
        })
    )
    const port = (server.address() as Net.AddressInfo).port
    return { port, url: (path: string) => `http://127.0.0.1:${port}${path}`, requests: () => requests }
  })

/** A port on 127.0.0.1 with nothing listening: bound by a server that is then closed. */
export const freePort: Effect.Effect<number> = Effect.async<number>((resume) => {
  const server = Http.createServer()
  server.listen(0, "127.0.0.1", () => {
    const port = (server.address() as Net.AddressInfo).port
    server.close(() => resume(Effect.succeed(port)))
  })
})

/** An IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`) for epoch milliseconds. */
export const httpDate = (millis: number): string => new Date(millis).toUTCString()

/** The two clients of @effect/platform-node every integration test runs through. */
export const clients = [
  { name: "node:http", layer: NodeHttpClient.layer },
  { name: "undici", layer: NodeHttpClient.layerUndici }
] as const
