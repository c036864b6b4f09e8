/**
 * A rate-limited API client: the server allows 3 requests per second and, beyond that, answers 429 with only
 * `X-RateLimit-*` headers (no Retry-After). `withStatusRetry()` reads the reset from them and waits exactly that.
 */
import { NodeHttpClient, NodeRuntime } from "@effect/platform-node"
import * as HttpClient from "@effect/platform/HttpClient"
import { withStatusRetry } from "@effect-retry/platform"
import * as Effect from "effect/Effect"
import { serve } from "./server.js"

const LIMIT = 3

export const main = Effect.gen(function*() {
  const startedAt = Date.now()
  const used = new Map<number, number>()
  const server = yield* serve((arrival) => {
    const window = Math.floor((arrival.at - startedAt) / 1000)
    const count = used.get(window) ?? 0
    used.set(window, count + 1)
    const resetIn = Math.ceil((startedAt + (window + 1) * 1000 - arrival.at) / 1000)
    const headers = {
      "x-ratelimit-limit": String(LIMIT),
      "x-ratelimit-remaining": String(Math.max(0, LIMIT - count - 1)),
      "x-ratelimit-reset": String(resetIn)
    }
    return count < LIMIT
      ? { status: 200, headers, body: JSON.stringify({ id: arrival.path.split("/").pop(), name: "widget" }) }
      : { status: 429, headers: { ...headers, "x-ratelimit-remaining": "0" } }
  })
  const client = (yield* HttpClient.HttpClient).pipe(withStatusRetry({ maxAttempts: 5 }))
  const getProduct = (id: number) =>
    client.get(`${server.url}/products/${id}`).pipe(Effect.flatMap((response) => response.json))
  const products = yield* Effect.forEach([1, 2, 3, 4, 5], getProduct, { concurrency: "unbounded" })
  const seconds = (Date.now() - startedAt) / 1000
  console.log(`fetched ${products.length} products in ${seconds.toFixed(2)} s with ${server.arrivals.length} requests`)
  return { products: products.length, requests: server.arrivals.length }
}).pipe(Effect.scoped, Effect.provide(NodeHttpClient.layerUndici))

if (import.meta.url === `file://${process.argv[1]}`) {
  NodeRuntime.runMain(main)
}
