import * as Sf from "structured-headers"
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
  /** The bucket the response names (see `bucketOf`), undefined when it names none. */
  readonly bucket: string | undefined
  /** The reset was an instant (a Unix time), measured against the response's `Date`, not a number of seconds. */
  readonly fromDate: boolean
}

/**
 * Below this a reset value is a number of seconds to wait; from it on (up to `EPOCH_MILLIS_THRESHOLD`), a Unix time
 * in seconds. 10^9 seconds is almost 32 years as a delay, and 2001-09-09 as a time: no real window is that long and
 * no real reset is that old.
 * @internal
 */
export const UNIX_TIME_THRESHOLD = 1_000_000_000

/**
 * From this on a reset value is a Unix time in milliseconds, as some gateways send it. 10^12 read as seconds would
 * be the year 33658, and read as milliseconds it is 2001-09-09: no real reset is either, so the two forms cannot be
 * confused.
 * @internal
 */
export const EPOCH_MILLIS_THRESHOLD = 1_000_000_000_000

/**
 * A bare item of a structured field (RFC 9651): its type, its value as text (a string unescaped, anything else as
 * serialized) and its serialization (as written, for a valid field; a byte sequence's base64 with its colons).
 * @internal
 */
export interface BareItem {
  readonly type: "integer" | "decimal" | "string" | "token" | "bytes" | "boolean"
  readonly text: string
  readonly raw: string
}

/**
 * A member of a structured List (an item and its parameters) or of a Dictionary (`key` set, the value in `item`).
 * @internal
 */
export interface Member {
  readonly key: string | undefined
  readonly item: BareItem
  readonly params: ReadonlyMap<string, BareItem>
}

const KEY = /^[a-z*][a-z0-9_\-.*]*/
const isKey = (text: string): boolean => KEY.exec(text)?.[0] === text
const TRUE: BareItem = { type: "boolean", text: "?1", raw: "?1" }

/** A bare item from structured-headers as this module reads it; undefined for the types the fields never use. */
const bareItem = (value: Sf.BareItem): BareItem | undefined => {
  if (typeof value === "number") {
    const raw = Sf.serializeBareItem(value)
    return { type: Number.isInteger(value) ? "integer" : "decimal", text: raw, raw }
  }
  if (typeof value === "string") return { type: "string", text: value, raw: Sf.serializeBareItem(value) }
  if (typeof value === "boolean") return value ? TRUE : { type: "boolean", text: "?0", raw: "?0" }
  if (value instanceof Sf.Token) return { type: "token", text: value.toString(), raw: value.toString() }
  if (value instanceof ArrayBuffer) {
    const raw = Sf.serializeBareItem(value)
    return { type: "bytes", text: raw, raw }
  }
  return undefined
}

/** One member of a List, or of a Dictionary with its key; undefined for an inner list or an unused type. */
const member = (key: string | undefined, value: Sf.Item | Sf.InnerList): Member | undefined => {
  if (Array.isArray(value[0])) return undefined
  const item = bareItem(value[0] as Sf.BareItem)
  if (item === undefined) return undefined
  const params = new Map<string, BareItem>()
  for (const [name, param] of value[1]) {
    const read = bareItem(param)
    if (read === undefined) return undefined
    params.set(name, read)
  }
  return { key, item, params }
}

const parseOrUndefined = <A>(parse: (input: string) => A, input: string): A | undefined => {
  try {
    return parse(input)
  } catch {
    return undefined
  }
}

/**
 * Parses a structured field that is a List of items or a Dictionary (RFC 9651 sections 4.2.1 and 4.2.2) into its
 * members, or undefined when malformed (keys must be lower-case, strings printable ASCII, no trailing comma...).
 * Inner lists, dates and display strings are not used by the rate-limit fields and make the field malformed.
 * A field whose first member is `key=value` is read as a Dictionary, any other as a List, then as a Dictionary
 * (`a, b=1`: a bare key is a Dictionary member set to true). The parsing is structured-headers'.
 * @internal
 */
export const parseMembers = (value: string): ReadonlyArray<Member> | undefined => {
  const input = value.replace(/^[ \t]+|[ \t]+$/g, "")
  const key = KEY.exec(input)
  const keyed = key !== null && input[key[0].length] === "="
  const list = keyed ? undefined : parseOrUndefined(Sf.parseList, input)
  const members: Array<Member> = []
  if (list !== undefined) {
    for (const value of list) {
      const read = member(undefined, value)
      if (read === undefined) return undefined
      members.push(read)
    }
    return members
  }
  const dictionary = keyed || input.includes("=") ? parseOrUndefined(Sf.parseDictionary, input) : undefined
  if (dictionary === undefined) return undefined
  for (const [name, value] of dictionary) {
    const read = member(name, value)
    if (read === undefined) return undefined
    members.push(read)
  }
  return members
}

const integer = (value: BareItem | undefined): number => {
  if (value === undefined || value.type !== "integer" || value.text.startsWith("-")) return NaN
  return Number(value.text)
}

/** The name of a List member: a String or a Token. */
const nameOf = (member: Member): string | undefined =>
  member.key === undefined && (member.item.type === "string" || member.item.type === "token")
    ? member.item.text
    : undefined

interface Policy {
  readonly name: string | undefined
  readonly quota: number
  readonly window: number | undefined
  readonly pk: string | undefined
}

/**
 * The `RateLimit-Policy` field, in either of its forms: named policies `"p";q=100;w=60` (the current draft), or
 * bare quotas `100;w=60` (drafts 6 and 7, as sent with the `RateLimit-Limit/Remaining/Reset` triplet or the
 * `RateLimit: limit=, remaining=, reset=` dictionary). Undefined when absent or malformed.
 */
const policies = (record: headers.HeaderRecord): ReadonlyArray<Policy> | undefined => {
  const value = headers.get(record, "ratelimit-policy")
  if (value === undefined) return undefined
  const members = parseMembers(value)
  if (members === undefined) return undefined
  const out: Array<Policy> = []
  for (const member of members) {
    if (member.key !== undefined) return undefined
    const quota = member.item.type === "integer" ? integer(member.item) : integer(member.params.get("q"))
    // A policy without a quota says nothing usable; the others still do.
    if (Number.isNaN(quota)) continue
    const window = integer(member.params.get("w"))
    out.push({
      name: member.item.type === "integer" ? undefined : nameOf(member),
      quota,
      window: Number.isNaN(window) ? undefined : window,
      pk: member.params.get("pk")?.raw
    })
  }
  return out
}

/** The policy with this name, else the one whose quota is this limit, else the only one. */
const policyFor = (
  all: ReadonlyArray<Policy> | undefined,
  match: { readonly name?: string; readonly limit?: number | undefined }
): Policy | undefined => {
  if (all === undefined) return undefined
  return (match.name !== undefined ? all.find((p) => p.name === match.name) : undefined) ??
    (match.limit !== undefined ? all.find((p) => p.quota === match.limit) : undefined) ??
    (all.length === 1 ? all[0] : undefined)
}

const seconds = (value: number | undefined): number | undefined => value === undefined ? undefined : value * 1000

interface Choice {
  readonly name: string
  readonly remaining: number
  readonly reset: number
  readonly pk: string | undefined
}

/** The most restrictive policy of the current draft's `RateLimit` List: the fewest remaining, then the longest wait. */
const choose = (members: ReadonlyArray<Member>): Choice | undefined => {
  let best: Choice | undefined
  for (const member of members) {
    const name = nameOf(member)
    const remaining = integer(member.params.get("r"))
    const reset = member.params.has("t") ? integer(member.params.get("t")) : 0
    if (name === undefined || Number.isNaN(remaining) || Number.isNaN(reset)) return undefined
    if (best === undefined || remaining < best.remaining || (remaining === best.remaining && reset > best.reset)) {
      best = { name, remaining, reset, pk: member.params.get("pk")?.raw }
    }
  }
  return best
}

const bucketName = (name: string, pk: string | undefined): string => pk === undefined ? name : `${name};pk=${pk}`

/**
 * The IETF draft fields: `RateLimit: "p";r=0;t=30` with `RateLimit-Policy: "p";q=100;w=60`. Drafts 6 and 7's
 * dictionary form `RateLimit: limit=100, remaining=0, reset=30` is read too, with `RateLimit-Policy: 100;w=60`.
 */
const fromStructured = (record: headers.HeaderRecord): Info | undefined => {
  const value = headers.get(record, "ratelimit")
  if (value === undefined) return undefined
  const members = parseMembers(value)
  if (members === undefined || members.length === 0) return undefined
  if (members.some((m) => m.key !== undefined)) {
    // A Dictionary: every member is keyed (a bare key is a member set to true); the last of a key wins.
    const byKey = new Map<string, BareItem>()
    for (const member of members) {
      if (member.key === undefined && (member.item.type !== "token" || !isKey(member.item.text))) return undefined
      byKey.set(member.key ?? member.item.text, member.key === undefined ? TRUE : member.item)
    }
    const remaining = integer(byKey.get("remaining"))
    const reset = integer(byKey.get("reset"))
    if (Number.isNaN(remaining) || Number.isNaN(reset)) return undefined
    const stated = integer(byKey.get("limit"))
    const limit = Number.isNaN(stated) ? undefined : stated
    const policy = policyFor(policies(record), { limit })
    return {
      source: "ratelimit",
      remaining,
      resetMillis: reset * 1000,
      limit: limit ?? policy?.quota,
      windowMillis: seconds(policy?.window),
      bucket: namedBucket(record),
      fromDate: false
    }
  }
  const best = choose(members)
  if (best === undefined) return undefined
  const policy = policyFor(policies(record), { name: best.name })
  return {
    source: "ratelimit",
    remaining: best.remaining,
    resetMillis: best.reset * 1000,
    limit: policy?.quota,
    windowMillis: seconds(policy?.window),
    bucket: bucketName(best.name, best.pk ?? policy?.pk),
    fromDate: false
  }
}

/**
 * How long until a triplet's reset, in milliseconds: below 10^9 a number of seconds to wait, up to 10^12 a Unix time
 * in seconds, from 10^12 on a Unix time in milliseconds, both measured against the response's `Date` header when it
 * has one (see `httpDate.untilInstant`). A fraction of a millisecond is rounded up.
 * @internal
 */
export const resetMillis = (reset: number, date: string | undefined, now: number): number =>
  reset >= EPOCH_MILLIS_THRESHOLD
    ? httpDate.untilInstant(reset, date, now)
    : reset >= UNIX_TIME_THRESHOLD
    ? httpDate.untilInstant(reset * 1000, date, now)
    : Math.ceil(reset * 1000)

const nonEmpty = (value: string | undefined): string | undefined => {
  const trimmed = value?.trim()
  return trimmed === undefined || trimmed === "" ? undefined : trimmed
}

/** The bucket named outside the IETF fields: GitHub's resource, Discord's bucket. */
const namedBucket = (record: headers.HeaderRecord): string | undefined =>
  nonEmpty(headers.get(record, "x-ratelimit-resource")) ?? nonEmpty(headers.get(record, "x-ratelimit-bucket"))

/**
 * `RateLimit-Limit/Remaining/Reset` (drafts up to 7, with `RateLimit-Policy: 100;w=60` for the window) or
 * `X-RateLimit-*` (the de facto convention, with Discord's `X-RateLimit-Reset-After`, fractional seconds, preferred
 * to `X-RateLimit-Reset`).
 */
const fromTriplet = (
  record: headers.HeaderRecord,
  prefix: "ratelimit" | "x-ratelimit",
  now: number
): Info | undefined => {
  const remaining = headers.decimal(headers.get(record, `${prefix}-remaining`))
  if (Number.isNaN(remaining)) return undefined
  const after = prefix === "x-ratelimit" ? headers.decimal(headers.get(record, "x-ratelimit-reset-after")) : NaN
  const reset = headers.decimal(headers.get(record, `${prefix}-reset`))
  if (Number.isNaN(after) && Number.isNaN(reset)) return undefined
  const stated = headers.decimal(headers.get(record, `${prefix}-limit`))
  const limit = Number.isNaN(stated) ? undefined : Math.floor(stated)
  const policy = prefix === "ratelimit" ? policyFor(policies(record), { limit }) : undefined
  return {
    source: prefix === "ratelimit" ? "ratelimit-reset" : "x-ratelimit-reset",
    remaining: Math.floor(remaining),
    resetMillis: Number.isNaN(after) ? resetMillis(reset, headers.get(record, "date"), now) : Math.ceil(after * 1000),
    limit: limit ?? policy?.quota,
    windowMillis: seconds(policy?.window),
    bucket: namedBucket(record),
    fromDate: Number.isNaN(after) && reset >= UNIX_TIME_THRESHOLD
  }
}

/** @internal */
export const parse = (record: headers.HeaderRecord, now: number): Info | undefined =>
  fromStructured(record) ?? fromTriplet(record, "ratelimit", now) ?? fromTriplet(record, "x-ratelimit", now)

/**
 * The bucket a response names, without reading the rest: the chosen policy of the IETF `RateLimit` field as
 * `name` or `name;pk=value` (the partition key as written, a byte sequence `:base64:` in the draft), else
 * `X-RateLimit-Resource` (GitHub), else `X-RateLimit-Bucket` (Discord). The same as `parse(record).bucket` whenever
 * `parse` reads something, and usable on any response, even one without remaining or reset.
 * @internal
 */
export const bucketOf = (record: headers.HeaderRecord): string | undefined => {
  const value = headers.get(record, "ratelimit")
  if (value !== undefined) {
    const members = parseMembers(value)
    if (members !== undefined && members.length > 0 && members.every((m) => m.key === undefined)) {
      const best = choose(members)
      if (best !== undefined) {
        return bucketName(best.name, best.pk ?? policyFor(policies(record), { name: best.name })?.pk)
      }
    }
  }
  return namedBucket(record)
}
