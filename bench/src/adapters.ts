/**
 * One adapter per client under test. Each makes a client in two forms: with its retries configured as a careful
 * user would from its README (every choice is written next to it), and the same client without retries (for the
 * overhead workload). A call answers how it ended:
 *
 * - `ok`: a 2xx/3xx response;
 * - `failed`: the library gave up and surfaced the server's final status (its typed or HTTP error, or the final
 *   response): the expected way for a call to fail;
 * - `exception`: anything else (a timeout, a library error that lost the status, an abort): counted as thrown.
 *
 * Common to all peers (harmonised so that the comparison is about *how* they retry, not how many times): 3 retries,
 * i.e. at most 4 attempts, the default of `withStatusRetry` (`maxTransientAttempts: 4`) and what the ky, got and axios-retry
 * READMEs show in their examples; a 10 s per-attempt timeout where the library has one (ky's default, and the
 * `attemptTimeout` the toolkit's README recommends for production).
 */
import { NodeHttpClient } from "@effect/platform-node"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { Coordinator, StatusError } from "@effect-retry/core"
import { withStatusRetry } from "@effect-retry/platform"
import axios from "axios"
import axiosRetry from "axios-retry"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Option from "effect/Option"
import * as Runtime from "effect/Runtime"
import * as Schedule from "effect/Schedule"
import got, { HTTPError as GotHTTPError } from "got"
import ky, { isHTTPError as isKyHTTPError } from "ky"
import pRetry, { AbortError } from "p-retry"
import { Agent, RetryAgent, request as undiciRequest } from "undici"
import { type Adapter, byStatus, type CallSpec, type Client, exception } from "./client.js"
import { effect4Adapters } from "./effect4.js"

export { type Adapter, aloneOf, type CallSpec, type Client, describe, type Outcome, type ToldLimits } from "./client.js"

// ---------------------------------------------------------------------------------------------------------------
// @effect/platform clients (the toolkit, and HttpClient.retryTransient), on the same base client
// ---------------------------------------------------------------------------------------------------------------

type AnyClient = HttpClient.HttpClient.With<unknown, never>

/** The HttpClient layers an Effect 3 row can run on. */
const transports = {
  // @effect/platform-node's undici client, each instance with its own Agent.
  NodeHttpClient: NodeHttpClient.layerUndici,
  // @effect/platform's fetch client: Node's global fetch (its bundled undici and global pool, as ky and p-retry use).
  FetchHttpClient: FetchHttpClient.layer
} as const

const effectClient = async (
  wrap: (client: HttpClient.HttpClient) => AnyClient,
  /** When given, the calls run with `Coordinator.layer(options)` provided: one coordinator for the client's life. */
  coordinator?: Coordinator.CoordinatorOptions,
  transport: keyof typeof transports = "NodeHttpClient"
): Promise<Client> => {
  // The base client every Effect row wraps (NodeHttpClient unless said otherwise).
  // With a coordinator, the calls run in a runtime whose context holds it, as a program that provides
  // `Coordinator.layer()` runs them: one runtime, one coordinator, for every call this client ever makes.
  const base = transports[transport]
  const runtime = coordinator === undefined
    ? ManagedRuntime.make(base)
    : ManagedRuntime.make(Layer.merge(base, Coordinator.layer(coordinator)))
  const context = await runtime.runtime()
  const client = wrap(Runtime.runSync(context)(HttpClient.HttpClient))
  return {
    call: async (spec) => {
      let request = HttpClientRequest.make(spec.method)(spec.url, { headers: spec.headers })
      if (spec.body !== undefined) request = HttpClientRequest.bodyText(request, spec.body, "application/json")
      const exit = await Runtime.runPromiseExit(context)(
        Effect.flatMap(client.execute(request), (response) => Effect.as(response.text, response.status)),
        { signal: spec.signal }
      )
      if (Exit.isSuccess(exit)) return byStatus(exit.value)
      const failure = Cause.failureOption(exit.cause)
      if (Option.isSome(failure)) {
        const error = failure.value
        if (StatusError.isStatusError(error)) return { kind: "failed", status: error.status }
        if (
          HttpClientError.isHttpClientError(error) && error._tag === "ResponseError" && error.reason === "StatusCode"
        ) {
          return { kind: "failed", status: error.response.status }
        }
        return exception(error)
      }
      if (Cause.isInterruptedOnly(exit.cause)) return { kind: "exception", error: "interrupted by the call timeout" }
      return { kind: "exception", error: Cause.pretty(exit.cause).split("\n")[0]!.slice(0, 160) }
    },
    close: () => runtime.dispose()
  }
}

/** The toolkit with its defaults: `withStatusRetry()`, no options. */
const effectRetry: Adapter = {
  id: "effect-retry",
  label: "effect-retry `withStatusRetry()`",
  packages: ["@effect/platform", "@effect/platform-node", "effect"],
  toolkit: { effect: 3, transport: "NodeHttpClient" },
  config:
    "`withStatusRetry()` with no options: the documented defaults (4 attempts while transient, 10 in all, 30 s timeout, " +
    "full jitter from 100 ms, 1 s for a hint-less 429, server hints + up to 2 % spread, no attempt timeout)",
  // README: "withStatusRetry() ... one line", every option has a documented default.
  make: (retry) => effectClient((client) => (retry ? client.pipe(withStatusRetry()) : client))
}

/**
 * The toolkit with its recommended production settings, where they differ from the defaults: the README's "Herd
 * control" section recommends providing `Coordinator.layer()` with its defaults, which shares one view of each
 * origin between the calls (a shared cooldown, pacing from rate-limit headers, a cautious start, a retry budget).
 * The coordinator is told no limit: it learns the server's from its answers. Each client instance has one
 * coordinator for the whole run, as a long-lived program does: what it learned in one workload is there in the next.
 */
const effectRetryCoordinated: Adapter = {
  id: "effect-retry-coord",
  label: "effect-retry + `Coordinator.layer()` (recommended)",
  packages: ["@effect/platform", "@effect/platform-node", "effect"],
  toolkit: { effect: 3, transport: "NodeHttpClient" },
  config: "`withStatusRetry()` with `Coordinator.layer()` provided, coordinator defaults (release spread 20 ms, " +
    "cautious start, adaptive retry budget with k = 2 over a minute), no limit configured: learned from the answers",
  make: (retry) => effectClient((client) => (retry ? client.pipe(withStatusRetry()) : client), {})
}

/**
 * The same, told the quotas in advance (`limits: { [origin]: { requests, window } }`), as a user who knows the
 * API's quota would: the benchmark server's rate-limit quota for its origin (and that its windows are back to back,
 * as `withRateLimiter`'s fixed windows assume), nginx's rate for nginx's. It runs the
 * workloads whose quota is the one it was told (its told limit is the whole origin's, so the other paths of that
 * origin would be paced at it too).
 */
const effectRetryConfigured: Adapter = {
  id: "effect-retry-limit",
  label: "effect-retry + `Coordinator.layer({ limits })`",
  packages: ["@effect/platform", "@effect/platform-node", "effect"],
  toolkit: { effect: 3, transport: "NodeHttpClient" },
  config: "as above, told the quotas: `limits: { [server origin]: { requests: 40, window: 1000, backToBack: true }, " +
    "[nginx origin]: " +
    "{ requests: 10, window: 1000, burst: 1 } }` (nginx's `rate=10r/s`, no burst); runs the rate-limit workloads " +
    "with that quota and the nginx ones",
  told: true,
  make: (retry, limits) =>
    effectClient(
      (client) => (retry ? client.pipe(withStatusRetry()) : client),
      {
        limits: Object.fromEntries(
          Object.entries(limits ?? {}).map((
            [origin, l]
          ) => [origin, {
            requests: l.requests,
            window: l.windowMs,
            ...(l.burst === undefined ? {} : { burst: l.burst }),
            ...(l.backToBack === undefined ? {} : { backToBack: l.backToBack })
          }])
        )
      }
    )
}

/**
 * The same toolkit row over @effect/platform's `FetchHttpClient` (Node's global `fetch`) instead of `NodeHttpClient`:
 * `withStatusRetry()` with its defaults, alone or with `Coordinator.layer(coordinator)` provided.
 */
const overFetch = (row: Adapter, coordinator?: Coordinator.CoordinatorOptions): Adapter => ({
  id: `${row.id}-fetch`,
  label: `${row.label}, \`FetchHttpClient\``,
  packages: ["@effect/platform", "effect"],
  toolkit: { effect: 3, transport: "FetchHttpClient" },
  group: 1,
  config: "the row above, over `FetchHttpClient.layer` (Node's global `fetch`)",
  make: (retry) =>
    effectClient((client) => (retry ? client.pipe(withStatusRetry()) : client), coordinator, "FetchHttpClient")
})

const retryTransient: Adapter = {
  id: "retry-transient",
  label: "@effect/platform `retryTransient`",
  packages: ["@effect/platform", "@effect/platform-node", "effect"],
  config: "`filterStatusOk`, a 10 s `Effect.timeout` per attempt, then `retryTransient({ schedule: " +
    "Schedule.exponential(\"100 millis\").pipe(Schedule.jittered), times: 3 })`",
  make: (retry) =>
    effectClient((client) => {
      // filterStatusOk: a careful user wants non-2xx as errors (the @effect/platform README shows it for that).
      // The per-attempt timeout goes inside the retry, so a timed-out attempt is retried (TimeoutException is one of
      // the transient errors retryTransient knows).
      const checked = client.pipe(
        HttpClient.filterStatusOk,
        HttpClient.transformResponse(Effect.timeout("10 seconds"))
      )
      if (!retry) return checked
      // Without a schedule retryTransient retries at once and forever; the Effect docs pair retries with
      // Schedule.exponential(...).pipe(Schedule.jittered) (×0.8–1.2) and a bound: `times: 3` (4 attempts).
      // 100 ms is the base used throughout the Effect docs' retry examples.
      return checked.pipe(
        HttpClient.retryTransient({ schedule: Schedule.exponential("100 millis").pipe(Schedule.jittered), times: 3 })
      )
    })
}

// ---------------------------------------------------------------------------------------------------------------
// ky (fetch)
// ---------------------------------------------------------------------------------------------------------------

const kyAdapter: Adapter = {
  id: "ky",
  label: "ky",
  packages: ["ky"],
  config: "`retry: { limit: 3, jitter: true, maxRetryAfter: 30_000 }`, `timeout: 10_000` (per attempt, the default), " +
    "`totalTimeout: 30_000`; other retry defaults (methods, status codes, 300 ms × 2^n backoff, Retry-After / " +
    "X-RateLimit-Reset on 413/429/503)",
  make: async (retry) => {
    const api = ky.create({
      retry: retry
        ? {
          // The default is 2; the README's examples use 3 to 10. 3, as for every peer.
          limit: 3,
          // README, "Using jitter to prevent thundering herd": full jitter (not applied to server-given delays).
          jitter: true,
          // README: default maxRetryAfter is Infinity; a careful user caps how long a server may park a call.
          maxRetryAfter: 30_000
        }
        : 0,
      // README: per-attempt timeout (default 10 s) and the overall totalTimeout (default off) for the retries.
      timeout: 10_000,
      totalTimeout: 30_000
    })
    return {
      call: async (spec) => {
        try {
          const response = await api(spec.url, {
            method: spec.method,
            headers: spec.headers,
            signal: spec.signal,
            ...(spec.body === undefined ? {} : { body: spec.body })
          })
          await response.text()
          return byStatus(response.status)
        } catch (error) {
          if (isKyHTTPError(error)) return { kind: "failed", status: error.response.status }
          return exception(error)
        }
      },
      close: async () => {}
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// got (node:http)
// ---------------------------------------------------------------------------------------------------------------

const gotAdapter: Adapter = {
  id: "got",
  label: "got",
  packages: ["got"],
  config: "`retry: { limit: 3 }`, `timeout: { request: 10_000 }` (so `maxRetryAfter` is 10 s, its documented " +
    "fallback); other retry defaults (1 s × 2^n + 0–100 ms noise, Retry-After on every retried status)",
  make: async (retry) => {
    const client = got.extend({
      // Documentation 7-retry.md: limit 2 by default, its example uses 3; POST is not retried by default.
      retry: { limit: retry ? 3 : 0 },
      // got sets no timeout by default; a careful user sets one. maxRetryAfter falls back to it (10 s).
      timeout: { request: 10_000 }
    })
    return {
      call: async (spec) => {
        try {
          const response = await client(spec.url, {
            method: spec.method,
            headers: spec.headers,
            signal: spec.signal,
            ...(spec.body === undefined ? {} : { body: spec.body })
          })
          return byStatus(response.statusCode)
        } catch (error) {
          if (error instanceof GotHTTPError) return { kind: "failed", status: error.response.statusCode }
          return exception(error)
        }
      },
      close: async () => {}
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// undici RetryAgent (undici 7.x: undici 8 requires Node >= 22.19 and does not load on Node 20)
// ---------------------------------------------------------------------------------------------------------------

const undiciAdapter: Adapter = {
  id: "undici",
  label: "undici `RetryAgent`",
  packages: ["undici"],
  config: "`new RetryAgent(new Agent({ headersTimeout: 10_000, bodyTimeout: 10_000 }), { maxRetries: 3 })`; other " +
    "defaults (500 ms × 2^n, no jitter, Retry-After honoured up to maxTimeout 30 s, statuses 429/500/502/503/504)",
  make: async (retry) => {
    // Agent defaults are 300 s header/body timeouts; a careful user lowers them to the 10 s used everywhere here.
    const agent = new Agent({ headersTimeout: 10_000, bodyTimeout: 10_000 })
    // RetryAgent.md: defaults maxRetries 5, minTimeout 500, timeoutFactor 2, maxTimeout 30 s, retryAfter true;
    // only maxRetries is changed (3, as for every peer).
    const dispatcher = retry ? new RetryAgent(agent, { maxRetries: 3 }) : agent
    return {
      call: async (spec) => {
        try {
          const response = await undiciRequest(spec.url, {
            dispatcher,
            method: spec.method,
            headers: spec.headers,
            signal: spec.signal,
            ...(spec.body === undefined ? {} : { body: spec.body })
          })
          await response.body.text()
          return byStatus(response.statusCode)
        } catch (error) {
          // After the last retry RetryAgent throws RequestRetryError (throwOnError defaults to true) with the status.
          const e = error as { code?: unknown; statusCode?: unknown }
          if (e.code === "UND_ERR_REQ_RETRY" && typeof e.statusCode === "number") {
            return { kind: "failed", status: e.statusCode }
          }
          return exception(error)
        }
      },
      close: () => dispatcher.close()
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// p-retry around fetch
// ---------------------------------------------------------------------------------------------------------------

class HttpStatusError extends Error {
  constructor(readonly status: number) {
    super(`HTTP ${status}`)
    this.name = "HttpStatusError"
  }
}

/** Statuses worth another attempt: the ones every HTTP-aware peer retries. */
const RETRYABLE = new Set([408, 429, 500, 502, 503, 504])

const pRetryAdapter: Adapter = {
  id: "p-retry",
  label: "p-retry + fetch",
  packages: ["p-retry"],
  config: "`pRetry(attempt, { retries: 3, randomize: true, maxRetryTime: 30_000 })`; `attempt` does `fetch` with " +
    "a 10 s timeout, throws on 408/429/5xx, `AbortError` on other 4xx (README pattern); 1 s × 2^n × U[1,2)",
  make: async (retry) => {
    const attempt = async (spec: CallSpec): Promise<number> => {
      const response = await fetch(spec.url, {
        method: spec.method,
        headers: spec.headers,
        // A per-attempt timeout, and the caller's signal.
        signal: AbortSignal.any([spec.signal, AbortSignal.timeout(10_000)]),
        ...(spec.body === undefined ? {} : { body: spec.body })
      })
      if (response.ok) {
        await response.text()
        return response.status
      }
      // Free the connection: an unread fetch body holds it until garbage collection.
      await response.body?.cancel()
      const error = new HttpStatusError(response.status)
      // README: "Abort retrying if the resource doesn't exist" (throw AbortError on 404); generalised to every
      // status that cannot change by itself.
      if (!RETRYABLE.has(response.status)) throw new AbortError(error)
      throw error
    }
    return {
      call: async (spec) => {
        try {
          const status = retry
            ? await pRetry(() => attempt(spec), {
              // README example: retries 5 (default 10); 3 here, as for every peer.
              retries: 3,
              // README: randomize multiplies each delay by U[1, 2): the only jitter p-retry offers.
              randomize: true,
              // README: maxRetryTime defaults to Infinity; bound it like the others' whole-call timeouts.
              maxRetryTime: 30_000,
              signal: spec.signal
            })
            : await attempt(spec)
          return byStatus(status)
        } catch (error) {
          if (error instanceof HttpStatusError) return { kind: "failed", status: error.status }
          return exception(error)
        }
      },
      close: async () => {}
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// axios + axios-retry
// ---------------------------------------------------------------------------------------------------------------

const axiosAdapter: Adapter = {
  id: "axios-retry",
  label: "axios + axios-retry",
  packages: ["axios", "axios-retry"],
  config: "`axiosRetry(instance, { retries: 3, retryDelay: axiosRetry.exponentialDelay, shouldResetTimeout: true })`" +
    ", `timeout: 10_000`; default `retryCondition` (network errors, or 429/5xx on idempotent methods)",
  make: async (retry) => {
    // axios has no timeout by default; 10 s per attempt (shouldResetTimeout below makes it per attempt).
    const instance = axios.create({ timeout: 10_000, responseType: "text" })
    if (retry) {
      axiosRetry(instance, {
        // README: `axiosRetry(axios, { retries: 3 })`.
        retries: 3,
        // README: "Exponential back-off retry delay between requests" (the default is no delay at all):
        // max(2^n × 100 ms, Retry-After) + 0–20 %.
        retryDelay: axiosRetry.exponentialDelay,
        // README note: without it, the timeout is one deadline for all attempts.
        shouldResetTimeout: true
      })
    }
    return {
      call: async (spec) => {
        try {
          const response = await instance.request({
            url: spec.url,
            method: spec.method,
            headers: spec.headers,
            signal: spec.signal,
            ...(spec.body === undefined ? {} : { data: spec.body })
          })
          return byStatus(response.status)
        } catch (error) {
          if (axios.isAxiosError(error) && error.response !== undefined) {
            return { kind: "failed", status: error.response.status }
          }
          return exception(error)
        }
      },
      close: async () => {}
    }
  }
}

export const adapters: ReadonlyArray<Adapter> = [
  effectRetry,
  effectRetryCoordinated,
  effectRetryConfigured,
  overFetch(effectRetry),
  overFetch(effectRetryCoordinated, {}),
  retryTransient,
  kyAdapter,
  gotAdapter,
  undiciAdapter,
  pRetryAdapter,
  axiosAdapter,
  ...effect4Adapters
]
