import { HttpDate, type RateLimit, ServerHint } from "@effect-retry/core"
import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as fc from "effect/FastCheck"
import * as Option from "effect/Option"
import * as properties from "./properties/parsers.mjs"

/** A hint as plain values: source, delay in ms, instant. */
const read = (headers: RateLimit.Headers, receivedAt: number) =>
  Option.map(ServerHint.fromHeaders(headers, receivedAt), (h) => [h.source, Duration.toMillis(h.delay), h.at] as const)

describe("ServerHint.fromHeaders: each source", () => {
  it("Retry-After as delay-seconds, from the instant the response was received", () => {
    expect(read({ "retry-after": "7" }, 0)).toStrictEqual(Option.some(["retry-after", 7000, 7000]))
    expect(read({ "retry-after": "7" }, 1_000)).toStrictEqual(Option.some(["retry-after", 7000, 8000]))
    expect(read({ "retry-after": "0" }, 5)).toStrictEqual(Option.some(["retry-after", 0, 5]))
  })

  it("Retry-After as an HTTP-date, against the Date header even when it agrees with the local clock", () => {
    // The server's Date trails the local clock by 0.3 s and by 1.4 s: the wait is still the full 2 s it gave.
    const server = Date.UTC(2026, 0, 1, 12, 0, 0)
    const headers = { date: HttpDate.formatImfFixdate(server), "retry-after": HttpDate.formatImfFixdate(server + 2000) }
    expect(read(headers, server + 300)).toStrictEqual(Option.some(["retry-after", 2000, server + 2300]))
    expect(read(headers, server + 1400)).toStrictEqual(Option.some(["retry-after", 2000, server + 3400]))
  })

  it("Retry-After as an HTTP-date, against the Date header even with a skewed local clock", () => {
    const server = Date.UTC(2026, 0, 1, 12, 0, 0)
    const headers = { date: HttpDate.formatImfFixdate(server), "retry-after": HttpDate.formatImfFixdate(server + 2000) }
    expect(read(headers, server + 60_000)).toStrictEqual(Option.some(["retry-after", 2000, server + 62_000]))
    expect(read(headers, server - 60_000)).toStrictEqual(Option.some(["retry-after", 2000, server - 58_000]))
  })

  it("Retry-After of any size keeps its exact delay", () => {
    const hint = ServerHint.fromHeaders({ "retry-after": "99999999999999999999" }, 0)
    expect(Option.map(hint, (h) => Duration.unsafeToNanos(h.delay))).toStrictEqual(
      Option.some(BigInt("99999999999999999999") * BigInt(1_000_000_000))
    )
    // The instant stops at the last one a Date holds: 8.64e15, the year 275760.
    expect(Option.map(hint, (h) => h.at)).toStrictEqual(Option.some(8_640_000_000_000_000))
  })

  it("Retry-After of 309 digits and more keeps its exact delay and a finite instant", () => {
    const digits = "9".repeat(400)
    const hint = ServerHint.fromHeaders({ "retry-after": digits }, 1000)
    expect(Option.map(hint, (h) => Duration.unsafeToNanos(h.delay))).toStrictEqual(
      Option.some(BigInt(digits) * BigInt(1_000_000_000))
    )
    expect(Option.map(hint, (h) => h.at)).toStrictEqual(Option.some(8_640_000_000_000_000))
  })

  it("Retry-After-Ms in milliseconds, fractions allowed", () => {
    expect(read({ "retry-after-ms": "1500" }, 100)).toStrictEqual(Option.some(["retry-after-ms", 1500, 1600]))
    expect(read({ "retry-after-ms": " 2.5 " }, 0)).toStrictEqual(Option.some(["retry-after-ms", 2.5, 2.5]))
    expect(read({ "retry-after-ms": "-5" }, 0)).toStrictEqual(Option.none())
  })

  it("the IETF RateLimit field when r=0", () => {
    expect(read({ ratelimit: "\"default\";r=0;t=30" }, 1000)).toStrictEqual(Option.some(["ratelimit", 30_000, 31_000]))
    expect(read({ ratelimit: "\"default\";r=3;t=30" }, 1000)).toStrictEqual(Option.none())
  })

  it("RateLimit-Remaining: 0 with RateLimit-Reset", () => {
    expect(read({ "ratelimit-remaining": "0", "ratelimit-reset": "12" }, 0)).toStrictEqual(
      Option.some(["ratelimit-reset", 12_000, 12_000])
    )
  })

  it("X-RateLimit-Remaining: 0 with X-RateLimit-Reset-After or X-RateLimit-Reset, as seconds or a Unix time", () => {
    expect(read({ "x-ratelimit-remaining": "0", "x-ratelimit-reset": "3" }, 1000)).toStrictEqual(
      Option.some(["x-ratelimit-reset", 3000, 4000])
    )
    // Discord's fractional seconds come first.
    expect(read({ "x-ratelimit-remaining": "0", "x-ratelimit-reset-after": "2.5", "x-ratelimit-reset": "9" }, 1000))
      .toStrictEqual(Option.some(["x-ratelimit-reset", 2500, 3500]))
    // Unix seconds and, from 10^12, Unix milliseconds, against the Date header.
    const server = 1_700_000_000_000
    for (const [reset, wait] of [["1700000030", 30_000], ["1700000004250", 4250]] as const) {
      expect(
        read(
          { "x-ratelimit-remaining": "0", "x-ratelimit-reset": reset, date: HttpDate.formatImfFixdate(server) },
          server + 60_000
        )
      ).toStrictEqual(Option.some(["x-ratelimit-reset", wait, server + 60_000 + wait]))
    }
  })

  it("no hint while requests remain, or without a reset", () => {
    expect(read({ "x-ratelimit-remaining": "1", "x-ratelimit-reset": "3" }, 0)).toStrictEqual(Option.none())
    expect(read({ "x-ratelimit-remaining": "0" }, 0)).toStrictEqual(Option.none())
    expect(read({ "ratelimit-remaining": "2", "ratelimit-reset": "3" }, 0)).toStrictEqual(Option.none())
    expect(read({}, 0)).toStrictEqual(Option.none())
    expect(read({ "content-type": "application/json" }, 0)).toStrictEqual(Option.none())
  })

  it("reads a header given as a list of values", () => {
    expect(read({ "retry-after": ["7"] }, 0)).toStrictEqual(Option.some(["retry-after", 7000, 7000]))
    // Two values make "7, 8": malformed, so skipped.
    expect(read({ "retry-after": ["7", "8"] }, 0)).toStrictEqual(Option.none())
    expect(read({ "retry-after": undefined, "retry-after-ms": "10" }, 0)).toStrictEqual(
      Option.some(["retry-after-ms", 10, 10])
    )
  })
})

describe("ServerHint.fromHeaders: precedence", () => {
  const all = {
    "retry-after": "7",
    "retry-after-ms": "1500",
    ratelimit: "\"default\";r=0;t=30",
    "ratelimit-remaining": "0",
    "ratelimit-reset": "12",
    "x-ratelimit-remaining": "0",
    "x-ratelimit-reset": "3"
  }

  it("Retry-After wins over everything", () => {
    expect(read(all, 0)).toStrictEqual(Option.some(["retry-after", 7000, 7000]))
  })

  it("each malformed source falls through to the next one", () => {
    expect(read({ ...all, "retry-after": "soon" }, 0)).toStrictEqual(Option.some(["retry-after-ms", 1500, 1500]))
    expect(read({ ...all, "retry-after": "-1", "retry-after-ms": "1.5.1" }, 0)).toStrictEqual(
      Option.some(["ratelimit", 30_000, 30_000])
    )
    expect(read({ ...all, "retry-after": "5s", "retry-after-ms": "", ratelimit: "\"default\";r=oops" }, 0))
      .toStrictEqual(Option.some(["ratelimit-reset", 12_000, 12_000]))
    expect(
      read({
        ...all,
        "retry-after": "Sat, 31 Feb 2015 00:00:00 GMT",
        "retry-after-ms": "x",
        ratelimit: "",
        "ratelimit-reset": "later"
      }, 0)
    ).toStrictEqual(Option.some(["x-ratelimit-reset", 3000, 3000]))
  })
})

describe("ServerHint.fromHeaders never throws", () => {
  const noise = fc.oneof(
    fc.string(),
    fc.fullUnicodeString({ maxLength: 12 }),
    fc.stringOf(fc.constantFrom(..."0123456789 -.;=,\"rtqw".split("")), { maxLength: 24 })
  )
  const count = fc.oneof(
    fc.nat({ max: 100 }).map(String),
    fc.constantFrom("0", "0", "1.5", "-1", "", " 3 ", "1700000030", "99999999999999999999"),
    fc.bigInt({ min: BigInt(0), max: BigInt(10) ** BigInt(330) }).map(String)
  )
  const date = fc.date({ noInvalidDate: true }).chain((d) =>
    fc.constantFrom(
      HttpDate.formatImfFixdate(d.getTime()),
      HttpDate.formatRfc850(d.getTime()),
      HttpDate.formatAsctime(d.getTime())
    )
  )
  const field = fc.tuple(fc.nat({ max: 3 }), fc.nat({ max: 100 }), fc.nat({ max: 3 })).map(([r, t, n]) =>
    Array.from({ length: n + 1 }, (_, i) => `"p${i}";r=${(r + i) % 3};t=${t + i}`).join(", ")
  )
  const policy = fc.tuple(fc.nat({ max: 1000 }), fc.nat({ max: 3600 })).map(([q, w]) => `"p0";q=${q};w=${w}`)
  const header = (specific: fc.Arbitrary<string>) =>
    fc.oneof({ arbitrary: specific, weight: 4 }, { arbitrary: noise, weight: 1 }, {
      arbitrary: fc.array(specific, { maxLength: 2 }),
      weight: 1
    })
  const headers = fc.record({
    "retry-after": header(fc.oneof(count, date)),
    "retry-after-ms": header(count),
    date: header(date),
    ratelimit: header(fc.oneof(field, fc.constantFrom("limit=10, remaining=0, reset=5"))),
    "ratelimit-policy": header(policy),
    "ratelimit-limit": header(count),
    "ratelimit-remaining": header(count),
    "ratelimit-reset": header(count),
    "x-ratelimit-limit": header(count),
    "x-ratelimit-remaining": header(count),
    "x-ratelimit-reset": header(count)
  }, { requiredKeys: [] })

  it.prop("any header record gives None or a hint with a non-negative delay, at received-at plus the delay", [
    headers,
    fc.date({ noInvalidDate: true }).map((d) => d.getTime())
  ], ([record, receivedAt]) => {
    const hint = ServerHint.fromHeaders(record, receivedAt)
    if (Option.isSome(hint)) {
      const ms = Duration.toMillis(hint.value.delay)
      expect(Number.isNaN(ms)).toBe(false)
      expect(ms).toBeGreaterThanOrEqual(0)
      // The instant is received-at plus the delay, up to the last instant a Date holds.
      expect(hint.value.at).toBe(Math.min(8_640_000_000_000_000, receivedAt + ms))
      expect(Number.isFinite(hint.value.at)).toBe(true)
      expect(["retry-after", "retry-after-ms", "ratelimit", "ratelimit-reset", "x-ratelimit-reset"]).toContain(
        hint.value.source
      )
    }
  }, { fastCheck: { numRuns: 500 } })
})

describe("ServerHint.fromHeaders and read on generated header values (valid forms, near-valid garbage, huge numbers, leap seconds, skewed Date headers)", () => {
  it.prop(
    "never throw; a finite, non-negative delay never shorter than its header asks; Retry-After first; at finite; read agrees with fromHeaders and RateLimit.parse",
    [properties.serverHintRead.arbitrary],
    ([testCase]) => {
      expect(properties.serverHintRead.check(testCase)).toStrictEqual([])
    },
    { fastCheck: { numRuns: 10_000 } }
  )
})
