import { headers as redactHeaders, url as redactUrl } from "./redact.js"

/** What a status means: not a failure, or a failure retried as throttled or transient, or not retried. */
export type Outcome = "success" | "throttled" | "transient" | "permanent"

/** The statuses the default policy retries as throttled. */
export const DEFAULT_THROTTLED: ReadonlyArray<number> = [429]

/** The statuses the default policy retries as transient; every other 4xx and 5xx is permanent. */
export const DEFAULT_TRANSIENT: ReadonlyArray<number> = [408, 500, 502, 503, 504]

/** A status policy's sets and its lookup table. */
export interface Table {
  /** Statuses that mean "too many requests". */
  readonly throttled: ReadonlySet<number>
  /** Statuses that mean "temporary failure". */
  readonly transient: ReadonlySet<number>
  /** One entry per status 0-599: 0 success, 1 throttled, 2 transient, 3 permanent. */
  readonly table: Uint8Array
}

const OUTCOMES: ReadonlyArray<Outcome> = ["success", "throttled", "transient", "permanent"]

const isFailureStatus = (status: number): boolean => Number.isInteger(status) && status >= 400 && status <= 599

/** Builds a policy's table from the statuses to retry; statuses below 400 are never failures, whatever the lists say. */
export const make = (throttledStatuses: Iterable<number>, transientStatuses: Iterable<number>): Table => {
  const throttled = new Set<number>()
  const transient = new Set<number>()
  for (const status of throttledStatuses) if (isFailureStatus(status)) throttled.add(status)
  for (const status of transientStatuses) if (isFailureStatus(status) && !throttled.has(status)) transient.add(status)
  const table = new Uint8Array(600)
  for (let status = 400; status < 600; status++) {
    table[status] = throttled.has(status) ? 1 : transient.has(status) ? 2 : 3
  }
  return { throttled, transient, table }
}

/**
 * A table that also retries `statuses`, as `as`: a status retried the other way is moved, every other one kept.
 */
export const retrying = (self: Table, statuses: Iterable<number>, as: "throttled" | "transient"): Table => {
  const moved = new Set(statuses)
  const kept = (kind: ReadonlySet<number>) => [...kind].filter((status) => !moved.has(status))
  return as === "throttled"
    ? make([...kept(self.throttled), ...moved], kept(self.transient))
    : make(kept(self.throttled), [...kept(self.transient), ...moved])
}

/** A table that no longer retries `statuses`: they fail as permanent. */
export const notRetrying = (self: Table, statuses: Iterable<number>): Table => {
  const removed = new Set(statuses)
  const isKept = (status: number) => !removed.has(status)
  return make([...self.throttled].filter(isKept), [...self.transient].filter(isKept))
}

/** What a status means under a table: outside 100-599, a permanent failure from 400 up and a success below. */
export const classify = (table: Uint8Array, status: number): Outcome =>
  status < 400 ? "success" : OUTCOMES[table[status] ?? 3]!

/**
 * The kind of a failure: a transient status whose answer asks for a pause (a 503 with `Retry-After: 120`) is
 * throttled; a hint of zero asks for no pause.
 */
export const kindOf = (
  outcome: "throttled" | "transient" | "permanent",
  hintMillis: number | undefined
): "throttled" | "transient" | "permanent" =>
  outcome === "transient" && hintMillis !== undefined && hintMillis > 0 ? "throttled" : outcome

/** The reason phrases of the statuses that have a class of their own (RFC 9110). */
export const REASON_PHRASES: Readonly<Record<number, string>> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  408: "Request Timeout",
  409: "Conflict",
  410: "Gone",
  413: "Content Too Large",
  422: "Unprocessable Content",
  425: "Too Early",
  429: "Too Many Requests",
  500: "Internal Server Error",
  501: "Not Implemented",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout"
}

/** The retryable statuses with an error class of their own, and its tag. */
export const RETRYABLE_TAGS = {
  408: "RequestTimeout",
  429: "TooManyRequests",
  500: "InternalServerError",
  502: "BadGateway",
  503: "ServiceUnavailable",
  504: "GatewayTimeout"
} as const

/** The permanent statuses with an error class of their own, and its tag. */
export const PERMANENT_TAGS = {
  400: "BadRequest",
  401: "Unauthorized",
  403: "Forbidden",
  404: "NotFound",
  405: "MethodNotAllowed",
  409: "Conflict",
  422: "UnprocessableEntity"
} as const

/** The tags of an error class for a status without one of its own: retryable, or permanent. */
export const FALLBACK_TAGS = { retryable: "RetryableStatus", permanent: "PermanentStatus" } as const

/** Whether a delay is too long to write as a duration: more than 10,000 years. */
export const TEN_THOUSAND_YEARS_MILLIS = 3_652_425 * 86_400_000

/**
 * The first line of a status error's message: status, reason phrase, method and URL (already redacted); then the
 * server's hint (its delay written by `format`, or "more than 10,000 years") and why retrying stopped, when there
 * are.
 */
export const describe = (fields: {
  readonly status: number
  readonly method: string
  readonly url: string
  readonly attempts: number
  readonly hint: { readonly millis: number; readonly source: string } | undefined
  readonly stopReason: string | undefined
}, format: (millis: number) => string): string => {
  const phrase = REASON_PHRASES[fields.status]
  let text = `${fields.status}${phrase === undefined ? "" : ` ${phrase}`}: ${fields.method} ${fields.url}`
  if (fields.hint !== undefined) {
    const delay = fields.hint.millis > TEN_THOUSAND_YEARS_MILLIS ? "more than 10,000 years" : format(fields.hint.millis)
    text += ` (server asked to wait ${delay}, from ${fields.hint.source})`
  }
  if (fields.stopReason !== undefined) {
    text += `; gave up after ${fields.attempts} attempt${fields.attempts === 1 ? "" : "s"}: ${fields.stopReason}`
  }
  return text
}

/** `Error` as V8 (Node, Chrome, Deno; Bun's JavaScriptCore too) has it: how many frames a new error captures. */
const V8Error = Error as unknown as { stackTraceLimit: number }
let savedLimit: number | undefined

/**
 * The fields of a status error as its constructor hands them to `Error`'s: its URL and headers redacted by the
 * default rules (whoever builds the error, no URL password or credential header is kept), and no JavaScript stack
 * for the error being built (it would show the runtime's frames, not the call's, and capturing it is the largest
 * part of building the error, paid on every failed attempt). Call `endFields` right after the `super` call.
 */
export const beginFields = <A extends { readonly url: string; readonly headers: Readonly<Record<string, string>> }>(
  args: A
): A => {
  savedLimit = V8Error.stackTraceLimit
  V8Error.stackTraceLimit = 0
  return { ...args, url: redactUrl(args.url), headers: redactHeaders(args.headers) }
}

/** Gives `Error` back the stack depth it had before `beginFields`. */
export const endFields = (): void => {
  if (savedLimit !== undefined) V8Error.stackTraceLimit = savedLimit
  savedLimit = undefined
}

/** The names of the fields every status error carries, in both Effect lines. */
export type FieldName =
  | "status"
  | "kind"
  | "method"
  | "url"
  | "headers"
  | "retryAfter"
  | "receivedAt"
  | "attempts"
  | "stopReason"
  | "body"

/**
 * A copy of a status error, of the same class (its constructor given every field), with some of its fields changed:
 * how both lines build `withStop` and `withBody`.
 */
export const copy = <E extends Readonly<Record<FieldName, unknown>>>(
  self: E,
  changes: Partial<Pick<E, FieldName>>
): E => {
  const Class = self.constructor as new(fields: Pick<E, FieldName>) => E
  return new Class({
    status: self.status,
    kind: self.kind,
    method: self.method,
    url: self.url,
    headers: self.headers,
    retryAfter: self.retryAfter,
    receivedAt: self.receivedAt,
    attempts: self.attempts,
    stopReason: self.stopReason,
    body: self.body,
    ...changes
  })
}
