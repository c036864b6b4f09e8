/**
 * One description of the behaviour both lines of the toolkit promise, as tables of cases: the Effect 3 line's
 * `withStatusRetry` (packages/platform) and the Effect 4 line's (packages/effect4) run the same cases.
 *
 * Every case runs with `options` below: exact delays (no jitter, no spread on a server's wait).
 */
import * as Util from "node:util"

/** The options every case runs with, in the words both lines take. */
export const options = {
  maxAttempts: 3,
  maxTransientAttempts: 3,
  retryAfterSpread: 0,
  maxRetryAfter: "30 seconds"
} as const

/** The backoff of the cases: no jitter, 100 ms then 200 ms for transient failures, 1 s for throttled ones. */
export const backoff = {
  baseDelay: "100 millis",
  throttledBaseDelay: "1 second",
  maxDelay: "10 seconds",
  jitter: "none"
} as const

/** A GET the server always fails with `status` (no hint): the error's tag and kind, and the attempts made. */
export interface StatusCase {
  readonly status: number
  readonly tag: string
  readonly kind: "throttled" | "transient" | "permanent"
  readonly attempts: number
  /** When each attempt was sent, milliseconds after the first. */
  readonly sentAt: ReadonlyArray<number>
}

export const statusCases: ReadonlyArray<StatusCase> = [
  { status: 400, tag: "BadRequest", kind: "permanent", attempts: 1, sentAt: [0] },
  { status: 401, tag: "Unauthorized", kind: "permanent", attempts: 1, sentAt: [0] },
  { status: 404, tag: "NotFound", kind: "permanent", attempts: 1, sentAt: [0] },
  { status: 409, tag: "Conflict", kind: "permanent", attempts: 1, sentAt: [0] },
  { status: 410, tag: "PermanentStatus", kind: "permanent", attempts: 1, sentAt: [0] },
  { status: 501, tag: "PermanentStatus", kind: "permanent", attempts: 1, sentAt: [0] },
  { status: 408, tag: "RequestTimeout", kind: "transient", attempts: 3, sentAt: [0, 100, 300] },
  { status: 500, tag: "InternalServerError", kind: "transient", attempts: 3, sentAt: [0, 100, 300] },
  { status: 502, tag: "BadGateway", kind: "transient", attempts: 3, sentAt: [0, 100, 300] },
  { status: 503, tag: "ServiceUnavailable", kind: "transient", attempts: 3, sentAt: [0, 100, 300] },
  { status: 504, tag: "GatewayTimeout", kind: "transient", attempts: 3, sentAt: [0, 100, 300] },
  { status: 429, tag: "TooManyRequests", kind: "throttled", attempts: 3, sentAt: [0, 1_000, 3_000] }
]

/** The instant of every case's first answer, and its `Date` header. */
export const NOW = Date.UTC(2026, 0, 1, 12, 0, 0)
const DATE = "Thu, 01 Jan 2026 12:00:00 GMT"

/**
 * A 503 with these headers, then a 200: when the retry was sent (ms after the first attempt) and which hint said so;
 * or, when the server asks for too long a wait, the stop, with no second request.
 */
export interface HintCase {
  readonly name: string
  readonly headers: Readonly<Record<string, string>>
  readonly result:
    | { readonly retriedAfter: number; readonly source: string }
    | { readonly stop: "retry-after-too-long"; readonly delay: number }
}

export const hintCases: ReadonlyArray<HintCase> = [
  { name: "delay-seconds", headers: { "retry-after": "2" }, result: { retriedAfter: 2_000, source: "retry-after" } },
  {
    name: "IMF-fixdate, measured against the response's Date",
    headers: { date: DATE, "retry-after": "Thu, 01 Jan 2026 12:00:03 GMT" },
    result: { retriedAfter: 3_000, source: "retry-after" }
  },
  {
    name: "RFC 850 date",
    headers: { date: DATE, "retry-after": "Thursday, 01-Jan-26 12:00:04 GMT" },
    result: { retriedAfter: 4_000, source: "retry-after" }
  },
  {
    name: "asctime date",
    headers: { date: DATE, "retry-after": "Thu Jan  1 12:00:05 2026" },
    result: { retriedAfter: 5_000, source: "retry-after" }
  },
  {
    name: "a Date header 1 hour off the local clock does not matter",
    headers: { date: "Thu, 01 Jan 2026 13:00:00 GMT", "retry-after": "Thu, 01 Jan 2026 13:00:02 GMT" },
    result: { retriedAfter: 2_000, source: "retry-after" }
  },
  {
    name: "a past date: no pause, the backoff",
    headers: { date: DATE, "retry-after": "Thu, 01 Jan 2026 11:00:00 GMT" },
    result: { retriedAfter: 100, source: "backoff" }
  },
  {
    name: "Retry-After-Ms",
    headers: { "retry-after-ms": "1500" },
    result: { retriedAfter: 1_500, source: "retry-after-ms" }
  },
  {
    name: "the IETF RateLimit field with no request left",
    headers: { ratelimit: "\"default\";r=0;t=4" },
    result: { retriedAfter: 4_000, source: "ratelimit" }
  },
  {
    name: "a malformed value: the backoff",
    headers: { "retry-after": "soon" },
    result: { retriedAfter: 100, source: "backoff" }
  },
  {
    name: "longer than maxRetryAfter: fails at once with the server's wait",
    headers: { "retry-after": "120" },
    result: { stop: "retry-after-too-long", delay: 120_000 }
  }
]

/** A request the server fails once with 503, then answers 200: whether it was sent again. */
export interface MethodCase {
  readonly method: "GET" | "HEAD" | "PUT" | "DELETE" | "POST" | "PATCH"
  readonly idempotencyKey?: string
  readonly resent: boolean
}

export const methodCases: ReadonlyArray<MethodCase> = [
  { method: "GET", resent: true },
  { method: "HEAD", resent: true },
  { method: "PUT", resent: true },
  { method: "DELETE", resent: true },
  { method: "POST", resent: false },
  { method: "PATCH", resent: false },
  { method: "POST", idempotencyKey: "k-1", resent: true },
  { method: "PATCH", idempotencyKey: "k-2", resent: true }
]

/**
 * What a line observed of one call, in plain values: each line's test reads its own error (its own `Option` and
 * `Duration`) into this, and compares it with the `expected...` of the case.
 */
export interface Observed {
  /** When each request was sent, milliseconds after the first. */
  readonly sentAt: ReadonlyArray<number>
  /** The call's error, or undefined when it succeeded. */
  readonly error:
    | {
      readonly tag: string
      readonly kind: string
      readonly status: number
      readonly attempts: number
      readonly stopReason: string | undefined
      /** The server's delay, and the instant it asked for (undefined without a hint). */
      readonly hint: { readonly delay: number; readonly at: number } | undefined
    }
    | undefined
}

export const expectedOfStatus = (c: StatusCase): Observed => ({
  sentAt: c.sentAt,
  error: {
    tag: c.tag,
    kind: c.kind,
    status: c.status,
    attempts: c.attempts,
    stopReason: c.kind === "permanent" ? "permanent" : "attempts",
    hint: undefined
  }
})

export const expectedOfHint = (c: HintCase): Observed =>
  "stop" in c.result
    ? {
      sentAt: [0],
      error: {
        tag: "ServiceUnavailable",
        kind: "throttled",
        status: 503,
        attempts: 1,
        stopReason: c.result.stop,
        hint: { delay: c.result.delay, at: NOW + c.result.delay }
      }
    }
    : { sentAt: [0, c.result.retriedAfter], error: undefined }

export const expectedOfMethod = (c: MethodCase): Observed =>
  c.resent ? { sentAt: [0, 100], error: undefined } : {
    sentAt: [0],
    error: {
      tag: "ServiceUnavailable",
      kind: "transient",
      status: 503,
      attempts: 1,
      stopReason: "unsafe-method",
      hint: undefined
    }
  }

/** What one run of `onRetry` was told (its `delay` in milliseconds, its error's tag), and when it ran. */
export interface ToldRetry {
  readonly attempt: number
  readonly delay: number
  readonly source: string
  readonly kind: string
  readonly tag: string
  /** Milliseconds after the first attempt. */
  readonly at: number
}

/**
 * `onRetry` over a 503 without a hint, then a 429 with `Retry-After: 2`, then a 200: it runs once per retry, before
 * the wait, told the exact delay and where it came from.
 */
export const onRetryCase: {
  readonly replies: ReadonlyArray<{ readonly status: number; readonly headers?: Readonly<Record<string, string>> }>
  readonly told: ReadonlyArray<ToldRetry>
  readonly sentAt: ReadonlyArray<number>
} = {
  replies: [{ status: 503 }, { status: 429, headers: { "retry-after": "2" } }, { status: 200 }],
  told: [
    { attempt: 1, delay: 100, source: "backoff", kind: "transient", tag: "ServiceUnavailable", at: 0 },
    { attempt: 2, delay: 2_000, source: "retry-after", kind: "throttled", tag: "TooManyRequests", at: 100 }
  ],
  sentAt: [0, 100, 2_100]
}

/** What `onRetry` of either line was told at `now`, in the plain values of `ToldRetry` (its delay read by `toMillis`). */
export const toldOf = <D>(
  info: {
    readonly attempt: number
    readonly error: unknown
    readonly delay: D
    readonly source: string
    readonly kind: string
  },
  now: number,
  toMillis: (delay: D) => number
): ToldRetry => ({
  attempt: info.attempt,
  delay: toMillis(info.delay),
  source: info.source,
  kind: info.kind,
  tag: (info.error as { readonly _tag: string })._tag,
  at: now - NOW
})

/** An `Option` of either line, as both have it. */
type OptionLike<A> = { readonly _tag: "Some"; readonly value: A } | { readonly _tag: "None" }

const valueOf = <A>(option: OptionLike<A>): A | undefined => option._tag === "Some" ? option.value : undefined

/** A status error of either line, its `Duration` read by `toMillis` (each line has its own). */
export const observeError = <D>(
  error: {
    readonly _tag: string
    readonly kind: string
    readonly status: number
    readonly attempts: number
    readonly stopReason: OptionLike<string>
    readonly retryAfter: OptionLike<{ readonly delay: D; readonly at: number }>
  },
  toMillis: (duration: D) => number
): Observed["error"] => {
  const hint = valueOf(error.retryAfter)
  return {
    tag: error._tag,
    kind: error.kind,
    status: error.status,
    attempts: error.attempts,
    stopReason: valueOf(error.stopReason),
    hint: hint === undefined ? undefined : { delay: toMillis(hint.delay), at: hint.at }
  }
}

/**
 * A GET with secrets in its URL and headers that fails, with a status or with a transport error the client below
 * raises (which carries the request, URL and headers as they were sent): what the error the call ends with shows.
 * No secret may reach it, in a field, its message or its JSON form.
 */
export interface RedactionCase {
  readonly name: string
  readonly url: string
  readonly headers: Readonly<Record<string, string>>
  /** A status the server always answers, or a transport failure below the wrapper. */
  readonly failure: { readonly status: number } | "transport"
  /** The `redact` option of the client. */
  readonly redact?: { readonly headers?: ReadonlyArray<string>; readonly queryParams?: ReadonlyArray<string> }
  /** The URL the error shows: the status error's `url`, or the URL of the transport error's request. */
  readonly shownUrl: string
  /** The headers of the transport error's request (a status error shows the response's). */
  readonly shownHeaders?: Readonly<Record<string, string>>
  /** Values that appear nowhere in the error. */
  readonly secrets: ReadonlyArray<string>
  /**
   * The transport error's cause quotes the URL as it was sent, as `fetch` does when it refuses a URL with credentials
   * (`causeOf`); otherwise it says "socket hang up".
   */
  readonly causeQuotesUrl?: true
}

/** The cause of a case's transport error, for the URL it was sent to. */
export const causeOf = (c: RedactionCase, url: string): Error =>
  c.causeQuotesUrl === true
    ? new TypeError(`Request cannot be constructed from a URL that includes credentials: ${url}`)
    : new Error("socket hang up")

const SECRET_URL = "http://user:hunter2@api.test/items?access_token=t0k3n&sig=s1gn3d&page=2"
const SHOWN_URL = "http://<redacted>@api.test/items?access_token=<redacted>&sig=<redacted>&page=2"
const SECRET_HEADERS = { authorization: "Bearer b3ar3r", cookie: "session=c00k13", accept: "application/json" }

export const redactionCases: ReadonlyArray<RedactionCase> = [
  {
    name: "a permanent status: the URL's password and secret query values",
    url: SECRET_URL,
    headers: SECRET_HEADERS,
    failure: { status: 404 },
    shownUrl: SHOWN_URL,
    secrets: ["hunter2", "t0k3n", "s1gn3d", "b3ar3r", "c00k13"]
  },
  {
    name: "a status retried until the attempts run out, with a query parameter of redact.queryParams",
    url: "http://api.test/items?session=s3ss10n&page=2",
    headers: { "x-tenant": "t3n4nt" },
    failure: { status: 503 },
    redact: { queryParams: ["session"] },
    shownUrl: "http://api.test/items?session=<redacted>&page=2",
    secrets: ["s3ss10n"]
  },
  {
    name: "a transport error raised below the wrapper, carrying the request",
    url: SECRET_URL,
    headers: SECRET_HEADERS,
    failure: "transport",
    shownUrl: SHOWN_URL,
    shownHeaders: { authorization: "<redacted>", cookie: "<redacted>", accept: "application/json" },
    secrets: ["hunter2", "t0k3n", "s1gn3d", "b3ar3r", "c00k13"]
  },
  {
    name: "a transport error raised below the wrapper, its cause quoting the URL (fetch refusing credentials)",
    url: SECRET_URL,
    headers: SECRET_HEADERS,
    failure: "transport",
    shownUrl: SHOWN_URL,
    shownHeaders: { authorization: "<redacted>", cookie: "<redacted>", accept: "application/json" },
    secrets: ["hunter2", "t0k3n", "s1gn3d", "b3ar3r", "c00k13"],
    causeQuotesUrl: true
  },
  {
    name: "a transport error raised below the wrapper, with the names of redact",
    url: "http://api.test/items?session=s3ss10n&page=2",
    headers: { "x-tenant": "t3n4nt", accept: "text/plain" },
    failure: "transport",
    redact: { headers: ["x-tenant"], queryParams: ["session"] },
    shownUrl: "http://api.test/items?session=<redacted>&page=2",
    shownHeaders: { "x-tenant": "<redacted>", accept: "text/plain" },
    secrets: ["s3ss10n", "t3n4nt"]
  }
]

/** What a line's error shows: the URL and (for a transport error) the request's headers, and all of its text. */
export interface Shown {
  readonly url: string
  readonly headers: Readonly<Record<string, string>> | undefined
  /** Every text the error holds: its message, its JSON form, its fields as the line reads them. */
  readonly text: string
}

/** What a redaction case observed, in plain values. */
export interface ObservedRedaction {
  readonly url: string
  readonly headers: Readonly<Record<string, string>> | undefined
  /** The secrets found in the error's text. */
  readonly leaked: ReadonlyArray<string>
}

export const observeRedaction = (c: RedactionCase, shown: Shown): ObservedRedaction => ({
  url: shown.url,
  headers: c.shownHeaders === undefined ? undefined : shown.headers,
  leaked: c.secrets.filter((secret) => shown.text.includes(secret))
})

export const expectedOfRedaction = (c: RedactionCase): ObservedRedaction => ({
  url: c.shownUrl,
  headers: c.shownHeaders,
  leaked: []
})

/**
 * What an error shows, read from the fields of either line: a status error's `url` and (response) `headers`, or the
 * URL (its query included) and headers of a transport error's request.
 */
export const shownBy = (
  error: { readonly message: string },
  fields: { readonly url: string; readonly headers: Readonly<Record<string, string>> },
  from: "status" | "request"
): Shown => ({
  url: fields.url,
  headers: from === "request" ? { ...fields.headers } : undefined,
  text: [
    error.message,
    JSON.stringify(error),
    String(error),
    // Its causes too, a few deep, with their messages and stacks: what a printed error shows.
    Util.inspect(error, { depth: 8 }),
    fields.url,
    JSON.stringify(fields.headers)
  ].join("\n")
})

/** A request as either line has it: its URL without the query of its URL parameters, and its headers. */
interface RequestLike {
  readonly url: string
  readonly headers: Readonly<Record<string, string>>
}

/**
 * What the error a call ended with shows, on either line: a status error, or an error that carries a request (the
 * line's transport error); `query` writes a request's URL parameters with that line's own module.
 */
export const shownOf = <Request extends RequestLike>(
  error: unknown,
  isStatusError: (u: unknown) => u is { readonly message: string } & RequestLike,
  requestOf: (u: unknown) => Request | undefined,
  query: (request: Request) => string
): Shown => {
  if (isStatusError(error)) return shownBy(error, error, "status")
  const request = requestOf(error)
  if (request === undefined) throw error
  const params = query(request)
  const url = params === "" ? request.url : `${request.url}?${params}`
  return shownBy(error as { readonly message: string }, { url, headers: request.headers }, "request")
}
