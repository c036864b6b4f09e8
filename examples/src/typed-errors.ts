/**
 * A service that handles the typed errors by name: a missing product is `None`, bad credentials are a domain
 * error, and a catalog that stays unavailable after the retries is another, with the reason it gave up.
 */
import { NodeHttpClient, NodeRuntime } from "@effect/platform-node"
import * as HttpClient from "@effect/platform/HttpClient"
import type { StatusError } from "@effect-retry/core"
import { withStatusRetry } from "@effect-retry/platform"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { serve } from "./server.js"

class CatalogUnavailable extends Data.TaggedError("CatalogUnavailable")<{
  readonly status: number
  readonly attempts: number
  readonly reason: string
}> {}

class NotAllowed extends Data.TaggedError("NotAllowed")<{ readonly status: number }> {}

const makeCatalog = (baseUrl: string) =>
  Effect.map(HttpClient.HttpClient, (http) => {
    const client = http.pipe(withStatusRetry({ backoff: { baseDelay: "20 millis" } }))
    const unavailable = (e: StatusError.StatusError) =>
      Effect.fail(
        new CatalogUnavailable({
          status: e.status,
          attempts: e.attempts,
          reason: Option.getOrElse(e.stopReason, () => "unknown")
        })
      )
    return {
      getProduct: (id: string) =>
        client.get(`${baseUrl}/products/${id}`).pipe(
          Effect.flatMap((response) => response.json),
          Effect.map(Option.some),
          Effect.catchTags({
            NotFound: () => Effect.succeed(Option.none<unknown>()),
            Unauthorized: (e) => Effect.fail(new NotAllowed({ status: e.status })),
            Forbidden: (e) => Effect.fail(new NotAllowed({ status: e.status })),
            InternalServerError: unavailable,
            BadGateway: unavailable,
            ServiceUnavailable: unavailable,
            GatewayTimeout: unavailable,
            TooManyRequests: unavailable
          })
        )
    }
  })

export const main = Effect.gen(function*() {
  const server = yield* serve((arrival) => {
    switch (arrival.path) {
      case "/products/1":
        return { status: 200, body: JSON.stringify({ id: "1", name: "widget" }) }
      case "/products/2":
        return { status: 404 }
      case "/products/secret":
        return { status: 403 }
      default:
        return { status: 503 }
    }
  })
  const catalog = yield* makeCatalog(server.url)
  const outcomes: Array<string> = []
  for (const id of ["1", "2", "secret", "3"]) {
    const outcome = yield* catalog.getProduct(id).pipe(
      Effect.map(Option.match({ onNone: () => "not found", onSome: (p) => `found ${JSON.stringify(p)}` })),
      Effect.catchTags({
        NotAllowed: (e) => Effect.succeed(`not allowed (${e.status})`),
        CatalogUnavailable: (e) => Effect.succeed(`unavailable (${e.status}, ${e.attempts} attempts, ${e.reason})`)
      }),
      Effect.orDie
    )
    console.log(`product ${id}: ${outcome}`)
    outcomes.push(outcome)
  }
  return { outcomes, requests: server.arrivals.length }
}).pipe(Effect.scoped, Effect.provide(NodeHttpClient.layerUndici))

if (import.meta.url === `file://${process.argv[1]}`) {
  NodeRuntime.runMain(main)
}
