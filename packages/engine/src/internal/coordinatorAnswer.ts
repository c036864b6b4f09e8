import * as state from "./coordinatorState.js"
import type * as headers from "./headers.js"
import * as rateLimitFields from "./rateLimit.js"
import * as serverClock from "./serverClock.js"
import * as serverHint from "./serverHint.js"

/** An answer as the coordinator is told it. */
export interface Observed {
  readonly status: number
  /** Response headers with lower-case names. */
  readonly headers: headers.HeaderRecord
  /** When it arrived, epoch milliseconds on the local clock. */
  readonly receivedAt: number
}

/** The origin (scheme, host, port) of a URL, or the input itself when it is not an absolute URL. */
export const originOf = (url: string): string => {
  // The same origin as the last URL (the common case: a client calls one API): the very same string is returned,
  // so the map of origins finds it without hashing a new one.
  const last = lastOrigin
  if (url.startsWith(last) && endsAuthority(url, last.length)) return last
  const origin = readOrigin(url)
  // Only an http(s) origin is kept: "null" (the origin of file: or data: URLs) or a non-URL (answered as itself)
  // must not match others.
  if (origin !== url && (origin.startsWith("http://") || origin.startsWith("https://"))) lastOrigin = origin
  return origin
}

/** The origin `originOf` found last; a string no URL starts with until then. */
let lastOrigin = "\u0000"

const readOrigin = (url: string): string => {
  // Whenever the origin changes: the common case (plain http(s), a lower-case name or a dotted-quad IPv4 address, no
  // userinfo, a port without leading zeros) is read in place and costs at most one slice; anything the URL parser
  // would rewrite (IPv6, other IPv4 spellings, upper case, userinfo...) goes to it.
  const start = url.startsWith("http://") ? 7 : url.startsWith("https://") ? 8 : 0
  if (start === 0) return parsedOrigin(url)
  let i = start
  let lastLabel = start
  while (i < url.length && isHostChar(url.charCodeAt(i))) {
    if (url.charCodeAt(i) === 46) lastLabel = i + 1
    i++
  }
  // Rare spellings the parser checks or rewrites: an empty host, a trailing dot, punycode.
  if (i === start || url.charCodeAt(i - 1) === 46) return parsedOrigin(url)
  const punycode = url.indexOf("xn--", start)
  if (punycode >= 0 && punycode < i) return parsedOrigin(url)
  // A host whose last label starts with a digit is an IPv4 address to the parser: only the canonical spelling is kept.
  if (isDigit(url.charCodeAt(lastLabel)) && !isDottedQuad(url, start, i)) return parsedOrigin(url)
  const hostEnd = i
  if (url.charCodeAt(i) === 58 /* : */) {
    let port = 0
    while (++i < url.length && isDigit(url.charCodeAt(i)) && i - hostEnd <= 5) port = port * 10 + url.charCodeAt(i) - 48
    const digits = i - hostEnd - 1
    if (digits === 0 || url.charCodeAt(hostEnd + 1) === 48 /* 0 */ || port > 65535) return parsedOrigin(url)
    if (!endsAuthority(url, i)) return parsedOrigin(url)
    return port === (start === 8 ? 443 : 80) ? url.slice(0, hostEnd) : i === url.length ? url : url.slice(0, i)
  }
  if (!endsAuthority(url, i)) return parsedOrigin(url)
  return i === url.length ? url : url.slice(0, i)
}

const parsedOrigin = (url: string): string => {
  try {
    return new URL(url).origin
  } catch {
    return url
  }
}

const isDigit = (c: number) => c >= 48 && c <= 57
/** Lower-case letters, digits, "." and "-". */
const isHostChar = (c: number) => (c >= 97 && c <= 122) || isDigit(c) || c === 46 || c === 45
/** Four numbers from 0 to 255 without leading zeros, separated by dots: an IPv4 address as the parser writes it. */
const isDottedQuad = (url: string, from: number, to: number) => {
  let parts = 0
  let i = from
  while (i <= to) {
    let value = 0
    const first = i
    while (i < to && isDigit(url.charCodeAt(i))) value = value * 10 + url.charCodeAt(i++) - 48
    const digits = i - first
    if (digits === 0 || digits > 3 || value > 255 || (digits > 1 && url.charCodeAt(first) === 48)) return false
    parts++
    if (i === to) break
    if (url.charCodeAt(i) !== 46) return false
    i++
  }
  return parts === 4
}
/** The authority ends at the end of the URL or at "/", "?" or "#". */
const endsAuthority = (url: string, i: number) => {
  if (i === url.length) return true
  const c = url.charCodeAt(i)
  return c === 47 || c === 63 || c === 35
}

/**
 * A client error (4xx but 408 and 429) that says nothing of limits: no hint, no rate-limit field, no bucket named. To
 * the state machine it is an accepted answer and nothing more, as a success is: a permit that did not ask to learn
 * from its answer (`Permit.learn`) is handed back as a success, with no answer read. (Its hints are read once, and the
 * typed error finds them read.)
 */
export const saysNothing = (observed: Observed): boolean => {
  if (observed.status < 400 || !state.isAccepted(observed.status)) return false
  const reading = serverHint.read(observed.headers, observed.receivedAt)
  return reading.hint === undefined && reading.rateLimit === undefined &&
    rateLimitFields.bucketOf(observed.headers) === undefined
}

/**
 * The answer's hints, read once: the rate-limit fields and the server's instant, as the state machine takes them.
 * `skew` is the wall clock less the coordinator's (see `CoordinatorPlan.Timeline`): the headers are read on the wall
 * clock, as the typed error reads them, and the instants found are moved onto the coordinator's.
 */
export const answerOf = (observed: Observed, skew = 0): state.Answer => {
  const wall = observed.receivedAt
  const record = observed.headers
  const reading = serverHint.read(record, wall)
  const { hint, rateLimit } = reading
  const throttled = observed.status === 429 || observed.status === 503
  const resetFromDate = rateLimit?.fromDate === true
  const offset = serverClock.dateOffset(record, wall)
  return {
    status: observed.status,
    receivedAt: wall - skew,
    hintAt: !throttled || hint === undefined || hint.millis === 0 ? undefined : hint.at - skew,
    rateLimit: rateLimit === undefined ? undefined : {
      remaining: rateLimit.remaining,
      resetAt: Math.min(serverHint.MAX_AT_MILLIS, wall + rateLimit.resetMillis) - skew,
      limit: rateLimit.limit,
      windowMillis: rateLimit.windowMillis
    },
    bucket: rateLimit?.bucket ?? rateLimitFields.bucketOf(record),
    serverOffset: offset === undefined ? undefined : offset + skew,
    hintFromDate: serverHint.fromDate(reading, record),
    resetFromDate
  }
}
