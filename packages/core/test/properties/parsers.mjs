// Generated header values and the properties every parser of this package must keep on them. Shared by the test
// suite (`it.prop`) and `scripts/fuzz-parsers.mjs`; both run it on the built package.
//
// Each property is an arbitrary of cases and a `check(case)` returning the broken rules, each "kind: detail", kind
// one of: throw, non-finite, negative, short (a wait shorter than the header says), wrong (a valid value misread).
import * as Duration from "effect/Duration"
import * as fc from "effect/FastCheck"
import * as Option from "effect/Option"
import { HttpDate, RateLimit, RetryAfter, ServerHint } from "../../build/index.js"
import * as serverHint from "../../build/internal/serverHint.js"

/** The latest `at` a hint has (the last instant a Date holds). */
const MAX_AT = 8_640_000_000_000_000
const MIN_SERVER = Date.UTC(1975, 0, 1)
const MAX_SERVER = Date.UTC(9990, 0, 1)
const NANOS_PER_SECOND = BigInt(1_000_000_000)

const FORMATS = [HttpDate.formatImfFixdate, HttpDate.formatRfc850, HttpDate.formatAsctime]

/** An HTTP-date of a whole-second instant in one of the three formats; `leap` writes it as 23:59:60 of the day before. */
const formatDate = (instant, format, leap) => {
  const text = FORMATS[format](leap ? instant - 1000 : instant)
  return leap ? text.replace("23:59:59", "23:59:60") : text
}

// Offsets of the server's clock from the local one, as seen in the wild and beyond.
const skew = fc.oneof(
  fc.constantFrom(0, 300, -300, 1400, -1400, 10_000, -10_000, 3_600_000, -3_600_000),
  fc.integer({ min: -86_400_000, max: 86_400_000 })
)

// Text that looks like a header value without being one, and a valid value bent out of shape.
const noise = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.fullUnicodeString({ maxLength: 12 }),
  fc.stringOf(fc.constantFrom(..."0123456789 -+.,:;=\"?*()GMTSunDecWedOctrtqwpk".split("")), { maxLength: 40 }),
  fc.constantFrom("", " ", "-1", "+5", "1.5", "5s", "1e3", "0x10", "Infinity", "NaN", "٣", "\"p\";R=0;T=10")
)
const mutate = (text) =>
  fc.tuple(fc.nat({ max: Math.max(0, text.length) }), fc.oneof(fc.char(), fc.constant("")), fc.boolean()).map((
    [i, c, replace]
  ) => text.slice(0, i) + c + text.slice(replace ? i + 1 : i))
const huge = fc.bigInt({ min: BigInt(0), max: BigInt(10) ** BigInt(400) }).map(String)

/** A case: the local clock at receipt, the server's clock, and the Date header (absent, valid, or garbage). */
const clocks = fc.record({
  now: fc.integer({ min: MIN_SERVER + 86_400_000, max: MAX_SERVER - 86_400_000 }),
  skew,
  date: fc.oneof(
    { arbitrary: fc.tuple(fc.nat({ max: 2 }), fc.boolean()).map(([format, leap]) => ({ format, leap })), weight: 6 },
    { arbitrary: fc.constant("absent"), weight: 2 },
    { arbitrary: noise, weight: 1 }
  )
}).chain(({ date, now, skew }) => {
  const server = now + skew
  const whole = Math.floor(server / 1000) * 1000
  if (date === "absent") return fc.constant({ now, server, header: undefined, base: now })
  if (typeof date === "string") return fc.constant({ now, server, header: date, base: undefined })
  // A leap second only where it exists: the Date header then says 23:59:60 for 00:00:00.
  const leap = date.leap && whole % 86_400_000 === 0
  const header = formatDate(whole, date.format, leap)
  return fc.oneof(
    { arbitrary: fc.constant({ now, server, header, base: whole }), weight: 5 },
    { arbitrary: mutate(header).map((h) => ({ now, server, header: h, base: undefined })), weight: 1 }
  )
})

/** A Retry-After value: delay-seconds (exact nanos known), an HTTP-date (instant known), or garbage. */
const retryAfterValue = (clock) =>
  fc.oneof(
    {
      arbitrary: fc.tuple(
        fc.oneof(fc.bigInt({ min: BigInt(0), max: BigInt(100_000) }), huge.map(BigInt)),
        fc.constantFrom("", " ", "\t", "00")
      ).map(([seconds, pad]) => ({
        text: pad === "00" ? `00${seconds}` : `${pad}${seconds}${pad}`,
        seconds
      })),
      weight: 3
    },
    {
      arbitrary: fc.tuple(
        fc.oneof(fc.integer({ min: -100, max: 100 }), fc.integer({ min: -86_400, max: 10_000_000 })),
        fc.nat({ max: 2 }),
        fc.boolean()
      ).map(([k, format, leap]) => {
        const instant = Math.floor(clock.server / 1000) * 1000 + k * 1000
        const midnight = Math.ceil(instant / 86_400_000) * 86_400_000
        // A leap second: 23:59:60 of the day before the next midnight, that midnight as an instant.
        const at = leap ? midnight : instant
        return { text: formatDate(at, format, leap), instant: at }
      }),
      weight: 3
    },
    { arbitrary: fc.oneof(noise, mutate(HttpDate.formatImfFixdate(clock.server))).map((text) => ({ text })), weight: 2 }
  )

/** Hides the rules a value breaks from an exception: any throw is one broken rule. */
const guarded = (check) => (c) => {
  try {
    return check(c)
  } catch (e) {
    return [`throw: ${e instanceof Error ? e.message : String(e)}`]
  }
}

/** A delay's own problems: not finite, negative, or shorter than the header asked (`bound`, a Duration, if known). */
const delayProblems = (name, delay, bound) => {
  if (!Duration.isFinite(delay)) return [`non-finite: ${name}`]
  if (Duration.lessThan(delay, Duration.zero)) return [`negative: ${name}`]
  if (bound !== undefined && Duration.lessThan(delay, bound)) {
    return [`short: ${name} waits ${show(delay)}, the header asks for ${show(bound)}`]
  }
  return []
}

/** A Duration as text, in milliseconds when they are exact, else in nanoseconds. */
const show = (d) => d.value._tag === "Nanos" ? `${d.value.nanos} ns` : `${Duration.toMillis(d)} ms`

/** The wait an HTTP-date asks for: the instant minus the Date header, or minus the local clock without one. */
const dateBound = (clock, instant) =>
  clock.base === undefined ? undefined : Duration.millis(Math.max(0, instant - clock.base))

// ---------------------------------------------------------------------------------------------------------------------

const httpDateCase = fc.record({
  now: fc.integer({ min: MIN_SERVER, max: MAX_SERVER }),
  instant: fc.integer({ min: MIN_SERVER / 1000, max: MAX_SERVER / 1000 }).map((s) => s * 1000),
  format: fc.nat({ max: 2 }),
  leap: fc.boolean(),
  casing: fc.constantFrom("as-is", "lower", "upper"),
  pad: fc.constantFrom("", " ", "\t "),
  garbage: fc.option(fc.oneof(noise, fc.constant("mutate")), { nil: undefined, freq: 2 }),
  mutation: fc.tuple(fc.nat(), fc.char())
}).map((c) => {
  // RFC 850's two-digit year is read within 50 years of now: keep the instant there, on a whole second.
  const near = Math.min(Math.max(c.instant, c.now - 40 * 31_557_600_000), c.now + 40 * 31_557_600_000)
  const instant = c.format === 1 ? Math.floor(near / 1000) * 1000 : c.instant
  const whole = Math.floor(instant / 86_400_000) * 86_400_000 + (c.leap ? 86_400_000 : instant % 86_400_000)
  let text = formatDate(whole, c.format, c.leap)
  text = c.casing === "lower" ? text.toLowerCase() : c.casing === "upper" ? text.toUpperCase() : text
  if (c.garbage === undefined) return { value: `${c.pad}${text}${c.pad}`, now: c.now, expected: whole }
  if (c.garbage !== "mutate") return { value: c.garbage, now: c.now, expected: undefined }
  const [i, ch] = c.mutation
  const at = i % (text.length + 1)
  return { value: text.slice(0, at) + ch + text.slice(at + 1), now: c.now, expected: undefined }
})

/** HttpDate.parse: never throws, Some is a finite instant, a valid date (leap second included) is read exactly. */
export const httpDate = {
  arbitrary: httpDateCase,
  check: guarded(({ expected, now, value }) => {
    const result = HttpDate.parse(value, now)
    if (Option.isSome(result) && !Number.isFinite(result.value)) return [`non-finite: ${value}`]
    if (expected !== undefined && !Option.getEquivalence((a, b) => a === b)(result, Option.some(expected))) {
      return [`wrong: ${JSON.stringify(value)} read as ${Option.getOrUndefined(result)}, not ${expected}`]
    }
    return []
  })
}

// ---------------------------------------------------------------------------------------------------------------------

/** RetryAfter.parse: a finite, non-negative delay; delay-seconds exact; an HTTP-date never before the server's instant. */
export const retryAfter = {
  arbitrary: clocks.chain((clock) => retryAfterValue(clock).map((value) => ({ clock, value }))),
  check: guarded(({ clock, value }) => {
    const result = RetryAfter.parse(value.text, { now: clock.now, date: clock.header })
    if (Option.isNone(result)) {
      return value.seconds !== undefined || value.instant !== undefined
        ? [`wrong: ${JSON.stringify(value.text)} not read`]
        : []
    }
    const bound = value.seconds !== undefined
      ? Duration.nanos(value.seconds * NANOS_PER_SECOND)
      : value.instant !== undefined
      ? dateBound(clock, value.instant)
      : undefined
    const problems = delayProblems(
      `Retry-After ${JSON.stringify(value.text)}, Date ${clock.header}`,
      result.value,
      bound
    )
    if (problems.length > 0) return problems
    // Delay-seconds are exact.
    if (value.seconds !== undefined && !Duration.equals(result.value, bound)) {
      return [`wrong: ${value.text} read as ${show(result.value)}`]
    }
    return []
  })
}

// ---------------------------------------------------------------------------------------------------------------------

const DECIMAL = /^\d+(?:\.\d+)?$/

/** A header's non-negative, finite decimal number, by the documented rule; undefined when it is not one. */
const decimal = (text) => {
  if (typeof text !== "string" || !DECIMAL.test(text.trim())) return undefined
  const n = Number(text.trim())
  return Number.isFinite(n) ? n : undefined
}

/** A triplet reset's wait by the documented rule: seconds below 10^9, Unix seconds below 10^12, else Unix ms. */
const resetBound = (clock, text) => {
  const n = decimal(text)
  if (n === undefined) return undefined
  if (n < 1e9) return Duration.millis(n * 1000)
  return dateBound(clock, n < 1e12 ? n * 1000 : n)
}

const resetText = (clock) =>
  fc.oneof(
    fc.nat({ max: 3600 }).map(String),
    fc.tuple(fc.nat({ max: 60 }), fc.nat({ max: 999 })).map(([s, f]) => `${s}.${f}`),
    fc.integer({ min: -3600, max: 3600 }).map((k) => String(Math.floor(clock.server / 1000) + k)),
    fc.integer({ min: -3_600_000, max: 3_600_000 }).map((k) => String(Math.floor(clock.server / 1000) * 1000 + k)),
    fc.constantFrom("999999999", "1000000000", "999999999999", "1000000000000"),
    huge,
    noise
  )
const count = fc.oneof(fc.constantFrom("0", "0", "0", "1", "5"), fc.nat({ max: 1000 }).map(String), huge, noise)
const policyName = fc.constantFrom("default", "p0", "p1", "hour", "remaining")
const pk = fc.option(fc.base64String({ maxLength: 12 }).map((b) => `:${b}:`), { nil: undefined })

/** The IETF list form, with the wait its most restrictive policy asks for when r=0 there. */
const ietfList = fc.array(
  fc.tuple(policyName, fc.nat({ max: 3 }), fc.option(fc.nat({ max: 100_000 }), { nil: undefined }), pk),
  {
    minLength: 1,
    maxLength: 4
  }
).map((items) => {
  const best = items.reduce((a, b) => (b[1] < a[1] || (b[1] === a[1] && (b[2] ?? 0) > (a[2] ?? 0)) ? b : a))
  return {
    text: items.map(([n, r, t, key]) =>
      `"${n}";r=${r}${t === undefined ? "" : `;t=${t}`}${key === undefined ? "" : `;pk=${key}`}`
    )
      .join(", "),
    bound: (best[2] ?? 0) * 1000
  }
})
const ietfField = fc.oneof(
  { arbitrary: ietfList, weight: 4 },
  {
    arbitrary: fc.tuple(fc.nat({ max: 1000 }), fc.nat({ max: 5 }), fc.nat({ max: 100_000 })).map(([l, r, t]) => ({
      text: `limit=${l}, remaining=${r}, reset=${t}`,
      bound: t * 1000
    })),
    weight: 2
  },
  { arbitrary: noise.map((text) => ({ text, bound: undefined })), weight: 1 }
)
const policyField = fc.oneof(
  fc.tuple(policyName, fc.nat({ max: 1000 }), fc.nat({ max: 86_400 }), pk).map(([n, q, w, key]) =>
    `"${n}";q=${q};w=${w}${key === undefined ? "" : `;pk=${key}`}`
  ),
  fc.array(fc.tuple(fc.nat({ max: 1000 }), fc.nat({ max: 86_400 })), { minLength: 1, maxLength: 3 }).map((ps) =>
    ps.map(([q, w]) => `${q};w=${w}`).join(", ")
  ),
  noise
)

/** A whole response's headers: every source of a hint, each present or not, valid or not. */
const responseCase = clocks.chain((clock) =>
  fc.record({
    retryAfter: fc.option(retryAfterValue(clock), { nil: undefined, freq: 2 }),
    retryAfterMs: fc.option(fc.oneof(fc.nat({ max: 100_000 }).map(String), fc.constant("2.5"), noise), {
      nil: undefined,
      freq: 2
    }),
    ratelimit: fc.option(ietfField, { nil: undefined, freq: 2 }),
    policy: fc.option(policyField, { nil: undefined, freq: 2 }),
    triplet: fc.record({
      limit: count,
      remaining: count,
      reset: resetText(clock),
      resetAfter: fc.oneof(fc.tuple(fc.nat({ max: 60 }), fc.nat({ max: 999 })).map(([s, f]) => `${s}.${f}`), noise)
    }, { requiredKeys: [] }),
    x: fc.record({
      limit: count,
      remaining: count,
      reset: resetText(clock),
      "reset-after": fc.oneof(fc.tuple(fc.nat({ max: 60 }), fc.nat({ max: 999 })).map(([s, f]) => `${s}.${f}`), noise),
      resource: fc.oneof(fc.constantFrom("core", "search", " graphql "), noise),
      bucket: fc.oneof(fc.hexaString({ maxLength: 32 }), noise)
    }, { requiredKeys: [] }),
    asList: fc.boolean()
  }).map((h) => {
    const record = {}
    if (clock.header !== undefined) record.date = clock.header
    if (h.retryAfter !== undefined) record["retry-after"] = h.asList ? [h.retryAfter.text] : h.retryAfter.text
    if (h.retryAfterMs !== undefined) record["retry-after-ms"] = h.retryAfterMs
    if (h.ratelimit !== undefined) record.ratelimit = h.ratelimit.text
    if (h.policy !== undefined) record["ratelimit-policy"] = h.policy
    for (
      const [key, value] of Object.entries(h.triplet)
    ) record[`ratelimit-${key === "resetAfter" ? "reset-after" : key}`] = value
    for (const [key, value] of Object.entries(h.x)) record[`x-ratelimit-${key}`] = value
    return { clock, record, retryAfter: h.retryAfter, ratelimit: h.ratelimit }
  })
)

const millis = (n) => n === undefined ? undefined : Duration.millis(n)

/** The least a source asks to wait, by the header's own text and the documented rules; undefined when unknown. */
const sourceBound = (c, source) => {
  const get = (name) => c.record[name]
  switch (source) {
    case "retry-after": {
      const value = c.retryAfter
      if (value?.seconds !== undefined) return Duration.nanos(value.seconds * NANOS_PER_SECOND)
      return value?.instant === undefined ? undefined : dateBound(c.clock, value.instant)
    }
    case "retry-after-ms":
      return millis(decimal(get("retry-after-ms")))
    case "ratelimit":
      return millis(c.ratelimit?.bound)
    case "ratelimit-reset":
      return resetBound(c.clock, get("ratelimit-reset"))
    case "x-ratelimit-reset": {
      const after = decimal(get("x-ratelimit-reset-after"))
      return after === undefined ? resetBound(c.clock, get("x-ratelimit-reset")) : Duration.millis(after * 1000)
    }
  }
  return undefined
}

/** The rules a hint keeps: a finite delay, never negative, never shorter than its header, `at` finite from receipt. */
const hintProblems = (c, hint) => {
  const problems = delayProblems(
    `hint from ${hint.source} in ${JSON.stringify(c.record)}`,
    hint.delay,
    sourceBound(c, hint.source)
  )
  if (problems.length > 0) return problems
  const now = c.clock.now
  if (!Number.isFinite(hint.at)) return [`non-finite: at of ${hint.source}`]
  if (hint.at !== Math.min(MAX_AT, now + Duration.toMillis(hint.delay))) {
    return [`wrong: at ${hint.at} of ${hint.source}`]
  }
  // Retry-After, when valid, comes first.
  if (c.retryAfter?.seconds !== undefined || (c.retryAfter?.instant !== undefined)) {
    if (hint.source !== "retry-after") return [`wrong: ${hint.source} chosen over a valid Retry-After`]
  }
  return []
}

/** ServerHint.fromHeaders and the internal read: the hint keeps its rules, and read agrees with the public parsers. */
export const serverHintRead = {
  arbitrary: responseCase,
  check: guarded((c) => {
    const reading = serverHint.read(c.record, c.clock.now)
    const hint = ServerHint.fromHeaders(c.record, c.clock.now)
    if (Option.isNone(hint)) {
      if (reading.hint !== undefined) return ["wrong: read has a hint, fromHeaders none"]
      return c.retryAfter?.seconds !== undefined || c.retryAfter?.instant !== undefined
        ? [`wrong: valid Retry-After ${JSON.stringify(c.retryAfter.text)} gave no hint`]
        : []
    }
    const problems = hintProblems(c, hint.value)
    if (problems.length > 0) return problems
    if (
      reading.hint === undefined || reading.hint.source !== hint.value.source || reading.hint.at !== hint.value.at ||
      !Duration.equals(reading.hint.delay, hint.value.delay)
    ) return ["wrong: read and fromHeaders disagree"]
    const info = RateLimit.parse(c.record, c.clock.now)
    const same = Option.isNone(info)
      ? reading.rateLimit === undefined
      : reading.rateLimit !== undefined && reading.rateLimit.remaining === info.value.remaining &&
        reading.rateLimit.resetMillis === Duration.toMillis(info.value.resetAfter)
    return same ? [] : ["wrong: read's rate limit and RateLimit.parse disagree"]
  })
}

/** RateLimit.parse and bucketOf: whole, non-negative counts, finite waits never shorter than the reset says. */
export const rateLimit = {
  arbitrary: responseCase,
  check: guarded((c) => {
    const info = RateLimit.parse(c.record, c.clock.now)
    const bucket = RateLimit.bucketOf(c.record)
    if (Option.isNone(info)) return []
    const { bucket: named, limit, remaining, resetAfter, source, window } = info.value
    if (!Number.isInteger(remaining) || remaining < 0) return [`wrong: remaining ${remaining}`]
    if (Option.isSome(limit) && !(Number.isInteger(limit.value) && limit.value >= 0)) {
      return [`wrong: limit ${limit.value}`]
    }
    const problems = [
      ...delayProblems(`reset of ${source} in ${JSON.stringify(c.record)}`, resetAfter, sourceBound(c, source)),
      ...(Option.isSome(window) ? delayProblems(`window of ${source}`, window.value) : [])
    ]
    if (problems.length > 0) return problems
    if (!Number.isFinite(Duration.toMillis(resetAfter))) return [`non-finite: reset of ${source} in milliseconds`]
    return Option.getOrUndefined(named) === Option.getOrUndefined(bucket) ? [] : ["wrong: bucket and bucketOf disagree"]
  })
}

/** The fast-check the arbitraries are made with, for a runner outside the test suite. */
export { fc }

/** Every property, by the name the summary gives it. */
export const all = { HttpDate: httpDate, RetryAfter: retryAfter, ServerHint: serverHintRead, RateLimit: rateLimit }
