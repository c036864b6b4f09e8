import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as HttpClient from "effect/http/HttpClient"
import * as HttpClientRequest from "effect/http/HttpClientRequest"
import * as HttpClientResponse from "effect/http/HttpClientResponse"
import * as TestClock from "effect/testing/TestClock"
import { describe, expect, it } from "vitest"
import * as Behaviour from "../../engine/test/shared/behaviour.js"
import type { StatusError } from "../src/index.js"
import { StatusRetry, withStatusRetry } from "../src/index.js"

/** One request as the scripted client saw it: when it was sent on the TestClock, and its method and headers. */
interface Sent {
  readonly at: number
  readonly method: string
  readonly headers: Readonly<Record<string, string>>
}

/**
 * A client that answers from a script on the TestClock (the last reply repeats), and the requests it saw. The run
 * starts at `Behaviour.NOW`; the clock is moved an hour on, so every sleep of the call ends in order.
 */
const run = <A, E>(
  replies: ReadonlyArray<{ readonly status: number; readonly headers?: Record<string, string> }>,
  call: (
    client: HttpClient.HttpClient.With<E | StatusRetry.RetryError>
  ) => Effect.Effect<A, E | StatusRetry.RetryError>,
  options: StatusRetry.Options = {}
) => {
  const sent: Array<Sent> = []
  const client = HttpClient.make((request) =>
    Effect.map(Clock.currentTimeMillis, (at) => {
      sent.push({ at: at - Behaviour.NOW, method: request.method, headers: { ...request.headers } })
      const reply = replies[Math.min(sent.length - 1, replies.length - 1)]!
      return HttpClientResponse.fromWeb(
        request,
        new Response(null, { status: reply.status, headers: reply.headers ?? {} })
      )
    })
  ) as unknown as HttpClient.HttpClient.With<E>
  const retrying = client.pipe(
    withStatusRetry({ ...Behaviour.options, backoff: Behaviour.backoff, ...options })
  ) as HttpClient.HttpClient.With<E | StatusRetry.RetryError>
  const program = Effect.gen(function*() {
    yield* TestClock.setTime(Behaviour.NOW)
    const fiber = yield* Effect.forkChild(Effect.exit(call(retrying)))
    yield* TestClock.adjust("1 hour")
    return yield* Fiber.join(fiber)
  })
  return Effect.runPromise(Effect.provide(program, TestClock.layer())).then((exit) => ({ exit, sent }))
}

const failure = <A, E>(exit: Exit.Exit<A, E>): E => {
  if (Exit.isSuccess(exit)) throw new Error("expected a failure")
  const error = exit.cause.reasons.find((r) => r._tag === "Fail")
  if (error === undefined || error._tag !== "Fail") throw new Error(`expected a typed failure: ${String(exit.cause)}`)
  return error.error
}

/** The call's outcome in the plain values of the shared description. */
const observe = (exit: Exit.Exit<unknown, unknown>, sent: ReadonlyArray<Sent>): Behaviour.Observed => {
  const sentAt = sent.map((s) => s.at)
  if (Exit.isSuccess(exit)) return { sentAt, error: undefined }
  return { sentAt, error: Behaviour.observeError(failure(exit) as StatusError.StatusError, Duration.toMillis) }
}

describe("withStatusRetry (Effect 4), on the shared description", () => {
  for (const c of Behaviour.statusCases) {
    it(`${c.status}: ${c.tag}, ${c.kind}, ${c.attempts} attempt(s) at ${c.sentAt.join(", ")} ms`, async () => {
      const { exit, sent } = await run([{ status: c.status }], (client) => client.get("http://api.test/items"))
      expect(observe(exit, sent)).toEqual(Behaviour.expectedOfStatus(c))
    })
  }

  for (const c of Behaviour.hintCases) {
    it(`Retry-After forms: ${c.name}`, async () => {
      const { exit, sent } = await run(
        [{ status: 503, headers: c.headers }, { status: 200 }],
        (client) => client.get("http://api.test/items")
      )
      expect(observe(exit, sent)).toEqual(Behaviour.expectedOfHint(c))
    })
  }

  for (const c of Behaviour.methodCases) {
    const name = `${c.method}${c.idempotencyKey === undefined ? "" : " with an Idempotency-Key"}`
    it(`${name}: ${c.resent ? "sent again" : "not sent again"} after a 503`, async () => {
      const request = HttpClientRequest.make(c.method)("http://api.test/items").pipe(
        c.idempotencyKey === undefined ? (r) => r : HttpClientRequest.setHeader("idempotency-key", c.idempotencyKey)
      )
      const { exit, sent } = await run([{ status: 503 }, { status: 200 }], (client) => client.execute(request))
      expect(observe(exit, sent)).toEqual(Behaviour.expectedOfMethod(c))
    })
  }
})

describe("withStatusRetry (Effect 4)", () => {
  it("stops at the call's timeout: a wait that would end past it is not started", async () => {
    const { exit, sent } = await run(
      [{ status: 503, headers: { "retry-after": "8" } }],
      (client) => client.get("http://api.test/items"),
      { timeout: "5 seconds" }
    )
    const error = failure(exit) as StatusError.StatusError
    expect([Option.getOrThrow(error.stopReason), error.attempts, sent.length]).toEqual(["timeout", 1, 1])
  })

  it("adds one Idempotency-Key to a POST, the same on every attempt, and re-sends it", async () => {
    const { exit, sent } = await run(
      [{ status: 503 }, { status: 201 }],
      (client) => client.post("http://api.test/orders"),
      { idempotencyKey: () => "key-1" }
    )
    expect(Exit.isSuccess(exit)).toBe(true)
    expect(sent.map((s) => s.headers["idempotency-key"])).toEqual(["key-1", "key-1"])
  })

  it("treats a 409 as transient for a request with an Idempotency-Key (the same key still in flight)", async () => {
    const { exit, sent } = await run(
      [{ status: 409 }, { status: 201 }],
      (client) => client.post("http://api.test/orders"),
      { idempotencyKey: true }
    )
    expect([Exit.isSuccess(exit), sent.map((s) => s.at)]).toEqual([true, [0, 100]])
  })

  it("redacts the URL's secrets and the credential headers in the error", async () => {
    const { exit } = await run(
      [{ status: 404, headers: { "set-cookie": "session=abc", "x-tenant": "t-1", "x-trace": "1" } }],
      (client) => client.get("http://user:pw@api.test/items?token=abc&sig=def&page=2"),
      { redact: { headers: ["x-tenant"] } }
    )
    const error = failure(exit) as StatusError.StatusError
    expect(error.url).toBe("http://<redacted>@api.test/items?token=<redacted>&sig=<redacted>&page=2")
    expect(error.headers).toMatchObject({ "set-cookie": "<redacted>", "x-tenant": "<redacted>", "x-trace": "1" })
    expect(error.message).toBe(
      "404 Not Found: GET http://<redacted>@api.test/items?token=<redacted>&sig=<redacted>&page=2; gave up after 1 attempt: permanent"
    )
  })

  it("rejects invalid options with every problem named, before any request", () => {
    expect(() => withStatusRetry({ maxAttempts: 0, timeout: -1, backoff: { jitter: "wild" as "none" } })).toThrow(
      StatusRetry.InvalidRetryOptions
    )
    try {
      withStatusRetry({ maxAttempts: 0, timeout: -1 })
    } catch (e) {
      expect((e as StatusRetry.InvalidRetryOptions).problems).toEqual([
        "maxAttempts must be a whole number of at least 1, got 0",
        "timeout must be a duration from 0 to 2147483647 ms, got -1"
      ])
    }
  })
})
