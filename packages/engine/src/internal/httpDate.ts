/** @internal */
export const DAY_NAMES = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"] as const
/** @internal */
export const LONG_DAY_NAMES = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"] as const
/** @internal */
export const MONTH_NAMES = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"] as const

const monthIndex = (name: string): number => {
  const lower = name.toLowerCase()
  return MONTH_NAMES.findIndex((m) => m.toLowerCase() === lower)
}

const MONTH = "(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)"
const TIME = "(\\d{2}):(\\d{2}):(\\d{2})"
const IMF_FIXDATE = new RegExp(`^(?:mon|tue|wed|thu|fri|sat|sun), (\\d{2}) ${MONTH} (\\d{4}) ${TIME} GMT$`, "i")
const RFC_850 = new RegExp(
  `^(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday), (\\d{2})-${MONTH}-(\\d{2}) ${TIME} GMT$`,
  "i"
)
const ASCTIME = new RegExp(`^(?:mon|tue|wed|thu|fri|sat|sun) ${MONTH} (\\d{2}| \\d) ${TIME} (\\d{4})$`, "i")

/**
 * Builds epoch milliseconds from calendar fields, or NaN when a field is out of range (31 Feb, 25:00...).
 * `23:59:60`, the leap second RFC 9110 allows, is the next second: 00:00:00 of the next day. Any other `:60` is
 * rejected.
 * @internal
 */
export const fromFields = (
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  second: number
): number => {
  if (second === 60 && hour === 23 && minute === 59) {
    const last = fromFields(year, month, day, 23, 59, 59)
    return Number.isNaN(last) ? NaN : last + 1000
  }
  if (month < 0 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59) return NaN
  const date = new Date(0)
  date.setUTCFullYear(year, month, day)
  date.setUTCHours(hour, minute, second, 0)
  // A day past the end of its month rolls over: reject it rather than move the instant.
  return date.getUTCDate() === day && date.getUTCMonth() === month ? date.getTime() : NaN
}

/**
 * Parses the three HTTP-date formats of RFC 9110 section 5.6.7 into epoch milliseconds, or NaN.
 * `now` resolves the two-digit year of the RFC 850 format.
 * @internal
 */
export const parse = (input: string, now: number): number => {
  const value = input.trim()
  let match = IMF_FIXDATE.exec(value)
  if (match !== null) {
    return fromFields(+match[3]!, monthIndex(match[2]!), +match[1]!, +match[4]!, +match[5]!, +match[6]!)
  }
  match = ASCTIME.exec(value)
  if (match !== null) {
    return fromFields(+match[6]!, monthIndex(match[1]!), +match[2]!.trim(), +match[3]!, +match[4]!, +match[5]!)
  }
  match = RFC_850.exec(value)
  if (match !== null) {
    return fromFields(
      rfc850Year(+match[3]!, now),
      monthIndex(match[2]!),
      +match[1]!,
      +match[4]!,
      +match[5]!,
      +match[6]!
    )
  }
  return NaN
}

/**
 * RFC 9110: a two-digit year that appears to be more than 50 years in the future is the most recent past year
 * with the same last two digits.
 * @internal
 */
export const rfc850Year = (twoDigits: number, now: number): number => {
  const currentYear = Number.isFinite(now) ? new Date(now).getUTCFullYear() : 1970
  const century = currentYear - (currentYear % 100)
  let year = century + twoDigits
  if (year > currentYear + 50) year -= 100
  else if (year <= currentYear - 50) year += 100
  return year
}

const pad = (n: number, width = 2): string => String(n).padStart(width, "0")

/** @internal */
export const formatImfFixdate = (millis: number): string => {
  const d = new Date(millis)
  return `${DAY_NAMES[d.getUTCDay()]}, ${pad(d.getUTCDate())} ${MONTH_NAMES[d.getUTCMonth()]} ${
    pad(d.getUTCFullYear(), 4)
  } ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} GMT`
}

/** @internal */
export const formatRfc850 = (millis: number): string => {
  const d = new Date(millis)
  return `${LONG_DAY_NAMES[d.getUTCDay()]}, ${pad(d.getUTCDate())}-${MONTH_NAMES[d.getUTCMonth()]}-${
    pad(d.getUTCFullYear() % 100)
  } ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} GMT`
}

/** @internal */
export const formatAsctime = (millis: number): string => {
  const d = new Date(millis)
  return `${DAY_NAMES[d.getUTCDay()]} ${MONTH_NAMES[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, " ")} ${
    pad(d.getUTCHours())
  }:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} ${pad(d.getUTCFullYear(), 4)}`
}

/**
 * How long until an absolute instant the server gave (an HTTP-date, an epoch reset), in milliseconds from when the
 * response was received, never negative.
 *
 * With a valid `Date` header, the instant is measured against it, never against the local clock: the server's own
 * clock is what the instant is on. `Date` has one-second resolution and is truncated, and it was written before the
 * response travelled, so the server's "now" at receipt is at least `Date`: `instant - Date` is the longest the wait
 * can need to be, and taking it means a skewed or sub-second offset between the clocks can only make the wait
 * longer, never early. A fraction of a millisecond is rounded up for the same reason. Without a valid `Date`
 * header, the local clock `now`.
 * @internal
 */
export const untilInstant = (instant: number, date: string | undefined, now: number): number => {
  const server = date === undefined ? NaN : parse(date, now)
  const wait = Math.ceil(instant - (Number.isNaN(server) ? now : server))
  return wait > 0 ? wait : 0
}
