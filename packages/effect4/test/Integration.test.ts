import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as FetchHttpClient from "effect/http/FetchHttpClient"
import * as Headers from "effect/http/Headers"
import * as HttpClient from "effect/http/HttpClient"
import * as Http from "node:http"
import type * as Net from "node:net"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Coordinator, type StatusError, StatusRetry, withStatusRetry } from "../src/index.js"

/** One request as the server saw it. */
interface Arrival {
  readonly at: number
  /** When its answer was written. */
  respondedAt?: number
  readonly method: string
  readonly path: string
  readonly headers: Http.IncomingHttpHeaders
  /** The connection it came on (numbered from 1). */
  readonly socket: number
}

/** What the server answers to the n-th request (from 0) of a path. */
type Script = (
  nth: number
) => { readonly status: number; readonly headers?: Record<string, string>; readonly body?: string }

const scripts = new Map<string, Script>()
const arrivals: Array<Arrival> = []
let server: Http.Server
let base = ""
const sockets = new WeakMap<Net.Socket, number>()
let socketsOpened = 0

beforeAll(async () => {
  server = Http.createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0]!
    const nth = arrivals.filter((a) => a.path === path).length
    if (!sockets.has(req.socket)) sockets.set(req.socket, socketsOpened += 1)
    const socket = sockets.get(req.socket)!
    const arrival: Arrival = { at: Date.now(), method: req.method ?? "", path, headers: req.headers, socket }
    arrivals.push(arrival)
    req.resume()
    const reply = scripts.get(path)?.(nth) ?? { status: 200 }
    res.writeHead(reply.status, { "content-type": "text/plain", ...reply.headers })
    res.end(reply.body ?? (reply.status >= 400 ? `error ${reply.status}` : "ok"), () => {
      arrival.respondedAt = Date.now()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  base = `http://127.0.0.1:${(server.address() as Net.AddressInfo).port}`
})

afterAll(() => {
  server.closeAllConnections()
  server.close()
})

const on = (path: string) => arrivals.filter((a) => a.path === path)

const call = <A>(
  options: StatusRetry.Options,
  f: (client: HttpClient.HttpClient.With<StatusRetry.RetryError>) => Effect.Effect<A, StatusRetry.RetryError>
) =>
  Effect.runPromise(
    Effect.exit(Effect.flatMap(HttpClient.HttpClient, (client) => f(client.pipe(withStatusRetry(options))))).pipe(
      Effect.provide(FetchHttpClient.layer)
    )
  )

const failure = <A>(exit: Exit.Exit<A, StatusRetry.RetryError>): StatusRetry.RetryError => {
  if (Exit.isSuccess(exit)) throw new Error("expected a failure")
  const reason = exit.cause.reasons.find((r) => r._tag === "Fail")
  if (reason === undefined || reason._tag !== "Fail") throw new Error(`expected a typed failure: ${String(exit.cause)}`)
  return reason.error
}

describe("withStatusRetry (Effect 4) through FetchHttpClient and node:http", () => {
  it("waits the server's Retry-After: 1 before the retry, then returns the 200", async () => {
    scripts.set("/retry-after", (n) => n === 0 ? { status: 503, headers: { "retry-after": "1" } } : { status: 200 })
    const exit = await call(
      { retryAfterSpread: 0 },
      (client) => Effect.flatMap(client.get(`${base}/retry-after`), (response) => response.text)
    )
    expect(Exit.isSuccess(exit) && exit.value).toBe("ok")
    const [first, second] = on("/retry-after")
    const gap = second!.at - first!.at
    expect(on("/retry-after").length).toBe(2)
    expect(gap).toBeGreaterThanOrEqual(1_000)
    expect(gap).toBeLessThan(2_000)
  })

  it("fails at once with the server's instant when it asks for longer than maxRetryAfter", async () => {
    scripts.set("/too-long", () => ({ status: 429, headers: { "retry-after": "3600" } }))
    const started = Date.now()
    const error = failure(await call({ maxRetryAfter: "1 minute" }, (client) => client.get(`${base}/too-long`)))
    expect(Date.now() - started).toBeLessThan(1_000)
    expect(error._tag).toBe("TooManyRequests")
    const status = error as StatusError.StatusError
    expect(Option.getOrThrow(status.stopReason)).toBe("retry-after-too-long")
    expect(Option.getOrThrow(status.retryAfter).at - status.receivedAt).toBe(3_600_000)
    expect(on("/too-long").length).toBe(1)
  })

  it("does not send a POST again after a 503, and does with an Idempotency-Key, the same key each time", async () => {
    scripts.set("/orders", (n) => n < 2 ? { status: 503 } : { status: 201 })
    const plain = failure(await call({}, (client) => client.post(`${base}/orders`)))
    expect([plain._tag, Option.getOrThrow((plain as StatusError.StatusError).stopReason)]).toEqual([
      "ServiceUnavailable",
      "unsafe-method"
    ])
    expect(on("/orders").length).toBe(1)
    const keyed = await call(
      { idempotencyKey: true, backoff: { jitter: "none" } },
      (client) => client.post(`${base}/orders`)
    )
    expect(Exit.isSuccess(keyed) && keyed.value.status).toBe(201)
    const [, second, third] = on("/orders")
    expect(on("/orders").length).toBe(3)
    expect(second!.headers["idempotency-key"]).toMatch(/^[0-9a-f-]{36}$/)
    expect(third!.headers["idempotency-key"]).toBe(second!.headers["idempotency-key"])
  })

  it("keeps the secrets of the URL, the credential headers and Headers.CurrentRedactedNames out of the error", async () => {
    scripts.set("/secret", () => ({ status: 404, headers: { "set-cookie": "s=1", "x-tenant": "t-1" } }))
    const exit = await Effect.runPromise(
      Effect.exit(
        Effect.flatMap(
          HttpClient.HttpClient,
          (client) => client.pipe(withStatusRetry()).get(`${base}/secret?access_token=abc&page=2`)
        )
      ).pipe(
        Effect.provideService(Headers.CurrentRedactedNames, ["x-tenant"]),
        Effect.provide(FetchHttpClient.layer)
      )
    )
    const error = failure(exit) as StatusError.StatusError
    expect(error._tag).toBe("NotFound")
    expect(error.url).toBe(`${base}/secret?access_token=<redacted>&page=2`)
    expect([error.headers["set-cookie"], error.headers["x-tenant"]]).toEqual(["<redacted>", "<redacted>"])
    expect(Option.getOrThrow(error.body)).toBe("error 404")
    expect(error.message).not.toContain("abc")
  })

  it("retries a refused connection for any method (the request never left), within the attempts", async () => {
    const closed = Http.createServer()
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve))
    const port = (closed.address() as Net.AddressInfo).port
    await new Promise<void>((resolve) => closed.close(() => resolve()))
    const started = Date.now()
    const error = failure(
      await call(
        { maxAttempts: 3, maxTransientAttempts: 3, backoff: { baseDelay: "50 millis", jitter: "none" } },
        (client) => client.post(`http://127.0.0.1:${port}/never`)
      )
    )
    expect(error._tag).toBe("HttpClientError")
    // Two waits of the backoff: 50 ms, then 100 ms.
    expect(Date.now() - started).toBeGreaterThanOrEqual(150)
  })

  it("follows a 307 with Retry-After: 1 no sooner than 1 s after it arrived", async () => {
    scripts.set("/moved", () => ({ status: 307, headers: { location: "/new", "retry-after": "1" } }))
    scripts.set("/new", () => ({ status: 200, body: "here" }))
    const exit = await Effect.runPromise(
      Effect.exit(
        Effect.flatMap(
          HttpClient.HttpClient,
          (client) =>
            client.pipe(withStatusRetry(), HttpClient.followRedirects()).get(`${base}/moved`).pipe(
              Effect.flatMap((response) => response.text)
            )
        )
      ).pipe(
        Effect.provide(FetchHttpClient.layer),
        Effect.provideService(FetchHttpClient.RequestInit, { redirect: "manual" })
      )
    )
    expect(Exit.isSuccess(exit) && exit.value).toBe("here")
    const [redirect] = on("/moved")
    const [followed] = on("/new")
    const waited = followed!.at - redirect!.respondedAt!
    expect(waited).toBeGreaterThanOrEqual(990)
    expect(waited).toBeLessThan(1_500)
  })

  it("keeps a 422's body on its error, where it decodes with Schema; one request", async () => {
    const problem = { title: "invalid", errors: [{ field: "name", message: "required" }] }
    scripts.set("/validate", () => ({
      status: 422,
      headers: { "content-type": "application/problem+json" },
      body: JSON.stringify(problem)
    }))
    const Problem = Schema.Struct({
      title: Schema.String,
      errors: Schema.Array(Schema.Struct({ field: Schema.String, message: Schema.String }))
    })
    const error = failure(await call({}, (client) => client.post(`${base}/validate`))) as StatusError.StatusError
    expect(error._tag).toBe("UnprocessableEntity")
    expect(Schema.decodeUnknownSync(Schema.fromJsonString(Problem))(Option.getOrThrow(error.body))).toEqual(problem)
    expect(on("/validate").length).toBe(1)
  })

  it("under body.read, fails with BodyTooLarge past body.maxSize, and hands back a body read whole within it", async () => {
    scripts.set("/large", () => ({ status: 200, body: "x".repeat(100) }))
    const large = failure(await call({ body: { read: true, maxSize: 10 } }, (client) => client.get(`${base}/large`)))
    expect([large._tag, (large as StatusRetry.BodyTooLarge).maxSize, on("/large").length]).toEqual([
      "BodyTooLarge",
      10,
      1
    ])
    const small = await call(
      { body: { read: true, maxSize: 100 } },
      (client) => Effect.flatMap(client.get(`${base}/large`), (response) => response.text)
    )
    expect(Exit.isSuccess(small) && small.value.length).toBe(100)
  })

  it("a transport error raised below the wrapper keeps the URL's password and token out of the error", async () => {
    // fetch refuses a URL with credentials before anything is sent: its error carries the request.
    const error = failure(
      await call(
        { maxAttempts: 1 },
        (client) => client.get(`http://user:hunter2@127.0.0.1:1/x?token=t0k3n&page=2`)
      )
    )
    expect(error._tag).toBe("HttpClientError")
    const request = (error as { readonly request: { readonly url: string } }).request
    expect(request.url).toBe("http://<redacted>@127.0.0.1:1/x?token=<redacted>&page=2")
    expect(`${error.message} ${JSON.stringify(error)} ${String(error)}`).not.toMatch(/hunter2|t0k3n/)
    // Its cause, which `Cause.pretty` prints, quotes the URL: redacted too.
    const cause = (error as { readonly cause?: unknown }).cause as Error
    expect(cause.message).toBe(
      "Request cannot be constructed from a URL that includes credentials: http://<redacted>@127.0.0.1:1/x?token=<redacted>&page=2"
    )
    expect(Cause.pretty(Cause.fail(error))).not.toMatch(/hunter2|t0k3n/)
  })

  it("drains the body of a failure it does not read (body.maxErrorSize 0), so its connection serves the retry", async () => {
    const filler = "x".repeat(64 * 1024)
    for (let i = 0; i < 20; i++) {
      scripts.set(`/unread/${i}`, (n) => n === 0 ? { status: 503, body: `busy ${filler}` } : { status: 200 })
    }
    const exit = await call(
      { body: { maxErrorSize: 0 }, backoff: { baseDelay: "20 millis", jitter: "none" } },
      (client) =>
        Effect.forEach(
          Array.from({ length: 20 }, (_, i) => i),
          (i) => Effect.flatMap(client.get(`${base}/unread/${i}`), (response) => response.text)
        )
    )
    expect(exit).toStrictEqual(Exit.succeed(Array(20).fill("ok")))
    const used = new Set(arrivals.filter((a) => a.path.startsWith("/unread/")).map((a) => a.socket))
    // One call at a time: a drained 503 leaves its connection free for the next request. A body left unread would
    // hold it, and each of the 20 retries would open a connection of its own.
    expect(used.size).toBeLessThanOrEqual(2)
  })

  it("drains the body of a redirect it will not follow (its Retry-After is past maxRetryAfter)", async () => {
    const filler = "x".repeat(64 * 1024)
    scripts.set(
      "/moved-long",
      () => ({ status: 307, headers: { location: "/new", "retry-after": "3600" }, body: filler })
    )
    const exit = await Effect.runPromise(
      Effect.exit(
        Effect.flatMap(HttpClient.HttpClient, (client) =>
          Effect.forEach(
            Array.from({ length: 10 }, () => 0),
            () =>
              Effect.match(client.pipe(withStatusRetry()).get(`${base}/moved-long`), {
                onFailure: (error) => `${error._tag} ${"status" in error ? error.status : ""}`,
                onSuccess: (response) => `handed back ${response.status}`
              })
          ))
      ).pipe(
        Effect.provide(FetchHttpClient.layer),
        Effect.provideService(FetchHttpClient.RequestInit, { redirect: "manual" })
      )
    )
    expect(exit).toStrictEqual(Exit.succeed(Array(10).fill("RetryableStatus 307")))
    expect(on("/moved-long").length).toBe(10)
    // One call at a time: each drained body leaves its connection free for the next call.
    expect(new Set(on("/moved-long").map((a) => a.socket)).size).toBeLessThanOrEqual(2)
  })

  it("under Coordinator.layer on the live clock, calls past a window's quota wait and go as the server's next window opens", async () => {
    // 5 requests per 1 s window, the windows back to back from the first request; the reset in whole seconds to wait.
    const path = "/coordinated"
    scripts.set(path, () => {
      const seen = on(path)
      const first = seen[0]!.at
      const at = seen.at(-1)!.at
      const window = Math.floor((at - first) / 1000)
      const used = seen.filter((a) => Math.floor((a.at - first) / 1000) === window).length
      const resetIn = String(Math.ceil((first + (window + 1) * 1000 - at) / 1000))
      const headers = {
        "x-ratelimit-limit": "5",
        "x-ratelimit-remaining": String(Math.max(0, 5 - used)),
        "x-ratelimit-reset": resetIn
      }
      return used <= 5 ? { status: 200, headers } : { status: 429, headers: { ...headers, "retry-after": resetIn } }
    })
    const statuses = await Effect.runPromise(
      Effect.flatMap(HttpClient.HttpClient, (client) =>
        Effect.forEach(
          Array.from({ length: 12 }, (_, i) => i),
          (i) => Effect.map(client.pipe(withStatusRetry()).get(`${base}${path}?call=${i}`), (r) => r.status),
          { concurrency: "unbounded" }
        )).pipe(Effect.provide(Coordinator.layer()), Effect.provide(FetchHttpClient.layer))
    )
    expect(statuses).toEqual(Array.from({ length: 12 }, () => 200))
    // One request per call, none refused: 5 in the first window (one, then four on its answer), 5 in the next, 2.
    const first = on(path)[0]!.at
    const perWindow = [0, 0, 0]
    for (const a of on(path)) perWindow[Math.floor((a.at - first) / 1000)]! += 1
    expect([on(path).length, perWindow]).toEqual([12, [5, 5, 2]])
  })

  it("a call under StatusRetry.disabled is sent once", async () => {
    scripts.set("/once", () => ({ status: 503 }))
    const error = failure(await call({}, (client) => client.get(`${base}/once`).pipe(StatusRetry.disabled)))
    expect([error._tag, (error as StatusError.StatusError).attempts, on("/once").length]).toEqual([
      "ServiceUnavailable",
      1,
      1
    ])
  })
})
