import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as UrlParams from "@effect/platform/UrlParams"
import * as StatusError from "@effect-retry/core/StatusError"
import { describe, expect, it } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as TestClock from "effect/TestClock"
import * as Behaviour from "../../engine/test/shared/behaviour.js"
import type { RetryPolicy } from "@effect-retry/core"
import { type StatusRetry, withStatusRetry } from "../src/index.js"

// The shared description of the behaviour both lines promise (packages/engine/test/shared/behaviour.ts), run on
// the Effect 3 line: a scripted client under the TestClock, from `Behaviour.NOW`.

interface Sent {
  readonly at: number
  readonly method: string
}

const run = (
  replies: ReadonlyArray<{ readonly status: number; readonly headers?: Readonly<Record<string, string>> }>,
  request: HttpClientRequest.HttpClientRequest,
  options: StatusRetry.Options = {}
) =>
  Effect.gen(function*() {
    const sent: Array<Sent> = []
    const client = HttpClient.make((request) =>
      Effect.map(Clock.currentTimeMillis, (at) => {
        sent.push({ at: at - Behaviour.NOW, method: request.method })
        const reply = replies[Math.min(sent.length - 1, replies.length - 1)]!
        return HttpClientResponse.fromWeb(
          request,
          new Response(null, { status: reply.status, headers: reply.headers ?? {} })
        )
      })
    ).pipe(withStatusRetry({ ...Behaviour.options, backoff: Behaviour.backoff, ...options }))
    yield* TestClock.setTime(Behaviour.NOW)
    const fiber = yield* Effect.fork(client.execute(request))
    yield* TestClock.adjust("1 hour")
    const exit = yield* Fiber.await(fiber)
    return { exit, sent }
  })

const failure = <A, E>(exit: Exit.Exit<A, E>): E => {
  if (exit._tag === "Success") throw new Error("expected a failure")
  if (exit.cause._tag !== "Fail") throw new Error(`expected a typed failure, got ${String(exit.cause)}`)
  return exit.cause.error
}

/** The call's outcome in the plain values of the shared description. */
const observe = (exit: Exit.Exit<unknown, unknown>, sent: ReadonlyArray<Sent>): Behaviour.Observed => {
  const sentAt = sent.map((s) => s.at)
  if (exit._tag === "Success") return { sentAt, error: undefined }
  return { sentAt, error: Behaviour.observeError(failure(exit) as StatusError.StatusError, Duration.toMillis) }
}

const GET = HttpClientRequest.get("http://api.test/items")

describe("withStatusRetry (Effect 3), on the shared description", () => {
  for (const c of Behaviour.statusCases) {
    it.effect(`${c.status}: ${c.tag}, ${c.kind}, ${c.attempts} attempt(s) at ${c.sentAt.join(", ")} ms`, () =>
      Effect.map(run([{ status: c.status }], GET), ({ exit, sent }) => {
        expect(observe(exit, sent)).toEqual(Behaviour.expectedOfStatus(c))
      }))
  }

  for (const c of Behaviour.hintCases) {
    it.effect(`Retry-After forms: ${c.name}`, () =>
      Effect.map(run([{ status: 503, headers: c.headers }, { status: 200 }], GET), ({ exit, sent }) => {
        expect(observe(exit, sent)).toEqual(Behaviour.expectedOfHint(c))
      }))
  }

  it.effect("onRetry runs once per retry, before its wait, with the exact delay and its source", () =>
    Effect.gen(function*() {
      const told: Array<Behaviour.ToldRetry> = []
      const onRetry = (info: RetryPolicy.RetryInfo) =>
        Effect.map(Clock.currentTimeMillis, (now) => told.push(Behaviour.toldOf(info, now, Duration.toMillis)))
      const { exit, sent } = yield* run(Behaviour.onRetryCase.replies, GET, { onRetry })
      expect(exit._tag).toBe("Success")
      expect({ told, sentAt: sent.map((s) => s.at) }).toEqual({
        told: Behaviour.onRetryCase.told,
        sentAt: Behaviour.onRetryCase.sentAt
      })
    }))

  for (const c of Behaviour.methodCases) {
    const name = `${c.method}${c.idempotencyKey === undefined ? "" : " with an Idempotency-Key"}`
    it.effect(`${name}: ${c.resent ? "sent again" : "not sent again"} after a 503`, () => {
      const base = HttpClientRequest.make(c.method)("http://api.test/items")
      const request = c.idempotencyKey === undefined
        ? base
        : HttpClientRequest.setHeader(base, "idempotency-key", c.idempotencyKey)
      return Effect.map(run([{ status: 503 }, { status: 200 }], request), ({ exit, sent }) => {
        expect(observe(exit, sent)).toEqual(Behaviour.expectedOfMethod(c))
      })
    })
  }
})

describe("withStatusRetry (Effect 3), on the shared description of redaction", () => {
  for (const c of Behaviour.redactionCases) {
    it.effect(c.name, () =>
      Effect.gen(function*() {
        const client = HttpClient.make((request) =>
          c.failure === "transport"
            ? Effect.fail(
              new HttpClientError.RequestError({ request, reason: "Transport", cause: Behaviour.causeOf(c, c.url) })
            )
            : Effect.succeed(HttpClientResponse.fromWeb(request, new Response(null, { status: c.failure.status })))
        ).pipe(
          withStatusRetry({
            ...Behaviour.options,
            backoff: Behaviour.backoff,
            ...(c.redact === undefined ? {} : { redact: c.redact })
          })
        )
        const fiber = yield* Effect.fork(client.get(c.url, { headers: c.headers }))
        yield* TestClock.adjust("1 hour")
        const error = failure(yield* Fiber.await(fiber))
        const shown = Behaviour.shownOf(
          error,
          StatusError.isStatusError,
          (u) => HttpClientError.isHttpClientError(u) ? u.request : undefined,
          (request) => UrlParams.toString(request.urlParams)
        )
        expect(Behaviour.observeRedaction(c, shown)).toEqual(Behaviour.expectedOfRedaction(c))
      }))
  }
})
