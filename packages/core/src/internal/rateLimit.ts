import * as headers from "./headers.js"
import * as httpDate from "./httpDate.js"

/** @internal */
export type Source = "ratelimit" | "ratelimit-reset" | "x-ratelimit-reset"

/** @internal */
export interface Info {
  readonly source: Source
  readonly remaining: number
  readonly resetMillis: number
  readonly limit: number | undefined
  readonly windowMillis: number | undefined
}

/**
 * Below this a reset value is a number of seconds; from it on, a Unix time in seconds. 10^9 seconds is almost 32
 * years as a delay, and 2001-09-09 as a time: no real window is that long and no real reset is that old.
 * @internal
 */
export const UNIX_TIME_THRESHOLD = 1_000_000_000

interface Item {
  readonly name: string
  readonly params: ReadonlyMap<string, string>
}

/**
 * Splits a structured field list (RFC 9651) into items with their parameters. Returns undefined when malformed.
 * Only what the RateLimit fields use is understood: strings or tokens as items, integers, tokens and strings as
 * parameter values.
 * @internal
 */
export const parseList = (value: string): ReadonlyArray<Item> | undefined => {
  const items: Array<Item> = []
  for (const raw of splitOutsideQuotes(value, ",")) {
    const parts = splitOutsideQuotes(raw, ";").map((p) => p.trim())
    const head = parts[0]
    if (head === undefined || head === "") return undefined
    const params = new Map<string, string>()
    let name = unquote(head)
    // Dictionary members (`remaining=0`) carry their value in the head.
    const eq = head.indexOf("=")
    if (eq > 0 && !head.startsWith("\"")) {
      name = head.slice(0, eq).trim().toLowerCase()
      params.set("", unquote(head.slice(eq + 1).trim()) ?? "")
    }
    if (name === undefined) return undefined
    for (const param of parts.slice(1)) {
      const i = param.indexOf("=")
      const key = (i < 0 ? param : param.slice(0, i)).trim().toLowerCase()
      if (key === "") return undefined
      params.set(key, i < 0 ? "?1" : unquote(param.slice(i + 1).trim()) ?? "")
    }
    items.push({ name, params })
  }
  return items
}

const splitOutsideQuotes = (value: string, separator: string): Array<string> => {
  const out: Array<string> = []
  let current = ""
  let quoted = false
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!
    if (c === "\"" && value[i - 1] !== "\\") quoted = !quoted
    if (c === separator && !quoted) {
      out.push(current)
      current = ""
    } else {
      current += c
    }
  }
  out.push(current)
  return out
}

const unquote = (value: string): string | undefined => {
  if (!value.startsWith("\"")) return value
  if (value.length < 2 || !value.endsWith("\"")) return undefined
  return value.slice(1, -1)
}

const integer = (value: string | undefined): number => {
  if (value === undefined || !/^\d+$/.test(value)) return NaN
  const n = Number(value)
  return Number.isSafeInteger(n) ? n : NaN
}

/**
 * The IETF draft fields: `RateLimit: "p";r=0;t=30` with `RateLimit-Policy: "p";q=100;w=60`. Older drafts'
 * dictionary form `RateLimit: limit=100, remaining=0, reset=30` is read too.
 */
const fromStructured = (record: headers.HeaderRecord): Info | undefined => {
  const value = headers.get(record, "ratelimit")
  if (value === undefined) return undefined
  const items = parseList(value)
  if (items === undefined || items.length === 0) return undefined
  // Only dictionary members (`remaining=0`) carry a value in their head; a policy may well be named "remaining".
  const byName = new Map(
    items.filter((item) => item.params.has("")).map((item) => [item.name, item.params.get("")] as const)
  )
  if (byName.has("remaining")) {
    const remaining = integer(byName.get("remaining"))
    const reset = integer(byName.get("reset"))
    if (Number.isNaN(remaining) || Number.isNaN(reset)) return undefined
    const limit = integer(byName.get("limit"))
    return {
      source: "ratelimit",
      remaining,
      resetMillis: reset * 1000,
      limit: Number.isNaN(limit) ? undefined : limit,
      windowMillis: undefined
    }
  }
  // The most restrictive policy: the fewest remaining, then the longest wait.
  let best: { name: string; remaining: number; reset: number } | undefined
  for (const item of items) {
    const remaining = integer(item.params.get("r"))
    const reset = item.params.has("t") ? integer(item.params.get("t")) : 0
    if (Number.isNaN(remaining) || Number.isNaN(reset)) return undefined
    if (best === undefined || remaining < best.remaining || (remaining === best.remaining && reset > best.reset)) {
      best = { name: item.name, remaining, reset }
    }
  }
  if (best === undefined) return undefined
  const policy = policyFor(headers.get(record, "ratelimit-policy"), best.name)
  return {
    source: "ratelimit",
    remaining: best.remaining,
    resetMillis: best.reset * 1000,
    limit: policy?.quota,
    windowMillis: policy?.window === undefined ? undefined : policy.window * 1000
  }
}

const policyFor = (
  value: string | undefined,
  name: string
): { quota: number; window: number | undefined } | undefined => {
  if (value === undefined) return undefined
  const items = parseList(value)
  const item = items?.find((i) => i.name === name) ?? (items?.length === 1 ? items[0] : undefined)
  if (item === undefined) return undefined
  const quota = integer(item.params.get("q"))
  if (Number.isNaN(quota)) return undefined
  const window = integer(item.params.get("w"))
  return { quota, window: Number.isNaN(window) ? undefined : window }
}

/** `RateLimit-Limit/Remaining/Reset` (early drafts) or `X-RateLimit-*` (the de facto convention). */
const fromTriplet = (
  record: headers.HeaderRecord,
  prefix: "ratelimit" | "x-ratelimit",
  now: number
): Info | undefined => {
  const remaining = headers.decimal(headers.get(record, `${prefix}-remaining`))
  const reset = headers.decimal(headers.get(record, `${prefix}-reset`))
  if (Number.isNaN(remaining) || Number.isNaN(reset)) return undefined
  const limit = headers.decimal(headers.get(record, `${prefix}-limit`))
  const resetMillis = reset >= UNIX_TIME_THRESHOLD
    ? httpDate.untilInstant(reset * 1000, headers.get(record, "date"), now)
    : reset * 1000
  return {
    source: prefix === "ratelimit" ? "ratelimit-reset" : "x-ratelimit-reset",
    remaining: Math.floor(remaining),
    resetMillis,
    limit: Number.isNaN(limit) ? undefined : Math.floor(limit),
    windowMillis: undefined
  }
}

/** @internal */
export const parse = (record: headers.HeaderRecord, now: number): Info | undefined =>
  fromStructured(record) ?? fromTriplet(record, "ratelimit", now) ?? fromTriplet(record, "x-ratelimit", now)
