import { StatusPolicy } from "@effect-retry/core"
import { describe, expect, it } from "@effect/vitest"
import * as fc from "effect/FastCheck"
import { pipe } from "effect/Function"

/** The project's status table (seeds/http-status-codes-and-retry.md), written out independently of the code. */
const expected = (status: number): StatusPolicy.Outcome => {
  if (status < 400) return "success"
  if (status === 429) return "throttled"
  if ([408, 500, 502, 503, 504].includes(status)) return "transient"
  return "permanent"
}

const table = (policy: StatusPolicy.StatusPolicy) => {
  const out: Record<number, StatusPolicy.Outcome> = {}
  for (let status = 100; status <= 599; status++) out[status] = StatusPolicy.classify(policy, status)
  return out
}

const defaultTable = table(StatusPolicy.defaultPolicy)

/** The default table with some statuses changed. */
const defaultWith = (changes: Record<number, StatusPolicy.Outcome>) => ({ ...defaultTable, ...changes })

describe("StatusPolicy.defaultPolicy", () => {
  it("classifies every status from 100 to 599 as the status table says", () => {
    for (let status = 100; status <= 599; status++) {
      expect(StatusPolicy.classify(StatusPolicy.defaultPolicy, status), String(status)).toBe(expected(status))
    }
  })

  it("lists exactly 429 as throttled and 408, 500, 502, 503, 504 as transient", () => {
    expect([...StatusPolicy.defaultPolicy.throttled]).toStrictEqual([429])
    expect([...StatusPolicy.defaultPolicy.transient].sort()).toStrictEqual([408, 500, 502, 503, 504])
  })

  it("names the statuses of the seed table", () => {
    const c = (status: number) => StatusPolicy.classify(StatusPolicy.defaultPolicy, status)
    expect([408, 429, 500, 502, 503, 504].map(c)).toStrictEqual([
      "transient",
      "throttled",
      "transient",
      "transient",
      "transient",
      "transient"
    ])
    expect([400, 401, 403, 404, 405, 409, 422, 501].map(c)).toStrictEqual(Array(8).fill("permanent"))
    expect([100, 200, 204, 301, 304, 399].map(c)).toStrictEqual(Array(6).fill("success"))
  })

  it("treats statuses outside 100-599 as successes below 400 and permanent failures from 400 up", () => {
    const c = (status: number) => StatusPolicy.classify(StatusPolicy.defaultPolicy, status)
    expect([0, 42, 99, -1].map(c)).toStrictEqual(Array(4).fill("success"))
    expect([600, 999, 1000, 429.5].map(c)).toStrictEqual(Array(4).fill("permanent"))
  })

  it.prop(
    "any integer status gets the outcome of the table",
    [fc.integer({ min: -1000, max: 100_000 })],
    ([status]) => {
      expect(StatusPolicy.classify(StatusPolicy.defaultPolicy, status)).toBe(expected(status))
    }
  )
})

describe("StatusPolicy.make", () => {
  it("builds a policy from the statuses to retry; every other failure is permanent", () => {
    const policy = StatusPolicy.make({ throttled: [429], transient: [404, 408, 502, 503, 504] })
    expect(StatusPolicy.classify(policy, 404)).toBe("transient")
    expect(StatusPolicy.classify(policy, 500)).toBe("permanent")
    expect(StatusPolicy.classify(policy, 429)).toBe("throttled")
  })

  it("ignores statuses that are not failures, and lets throttled win over transient", () => {
    const policy = StatusPolicy.make({ throttled: [503, 200, 700], transient: [503, 302, 408, 408.5] })
    expect([...policy.throttled]).toStrictEqual([503])
    expect([...policy.transient]).toStrictEqual([408])
    expect(StatusPolicy.classify(policy, 200)).toBe("success")
    expect(StatusPolicy.classify(policy, 302)).toBe("success")
    expect(StatusPolicy.classify(policy, 503)).toBe("throttled")
    expect(StatusPolicy.classify(policy, 429)).toBe("permanent")
  })
})

describe("StatusPolicy.retrying", () => {
  it("adds 404 as transient, data-last and data-first", () => {
    const dataLast = StatusPolicy.defaultPolicy.pipe(StatusPolicy.retrying([404]))
    const dataFirst = StatusPolicy.retrying(StatusPolicy.defaultPolicy, [404])
    expect(table(dataLast)).toStrictEqual(defaultWith({ 404: "transient" }))
    expect(table(dataFirst)).toStrictEqual(defaultWith({ 404: "transient" }))
  })

  it("adds 503 as throttled, moving it out of transient, data-last and data-first", () => {
    const dataLast = pipe(StatusPolicy.defaultPolicy, StatusPolicy.retrying([503], "throttled"))
    const dataFirst = StatusPolicy.retrying(StatusPolicy.defaultPolicy, [503], "throttled")
    for (const policy of [dataLast, dataFirst]) {
      expect(table(policy)).toStrictEqual(defaultWith({ 503: "throttled" }))
      expect([...policy.throttled].sort()).toStrictEqual([429, 503])
      expect([...policy.transient].sort()).toStrictEqual([408, 500, 502, 504])
    }
  })

  it("adding a throttled status as transient moves it", () => {
    const policy = StatusPolicy.defaultPolicy.pipe(StatusPolicy.retrying([429, 425]))
    expect(table(policy)).toStrictEqual(defaultWith({ 429: "transient", 425: "transient" }))
    expect([...policy.throttled]).toStrictEqual([])
  })

  it("accepts any iterable and ignores statuses below 400", () => {
    const policy = StatusPolicy.retrying(StatusPolicy.defaultPolicy, new Set([200, 410]))
    expect(table(policy)).toStrictEqual(defaultWith({ 410: "transient" }))
  })

  it("leaves the original policy unchanged", () => {
    StatusPolicy.defaultPolicy.pipe(StatusPolicy.retrying([404]), StatusPolicy.notRetrying([429]))
    expect(table(StatusPolicy.defaultPolicy)).toStrictEqual(defaultTable)
  })
})

describe("StatusPolicy.notRetrying", () => {
  it("makes 500 permanent, data-last and data-first", () => {
    const dataLast = StatusPolicy.defaultPolicy.pipe(StatusPolicy.notRetrying([500]))
    const dataFirst = StatusPolicy.notRetrying(StatusPolicy.defaultPolicy, [500])
    expect(table(dataLast)).toStrictEqual(defaultWith({ 500: "permanent" }))
    expect(table(dataFirst)).toStrictEqual(defaultWith({ 500: "permanent" }))
  })

  it("removes throttled statuses too, and ignores statuses it does not retry", () => {
    const policy = StatusPolicy.notRetrying(StatusPolicy.defaultPolicy, [429, 404, 200])
    expect(table(policy)).toStrictEqual(defaultWith({ 429: "permanent" }))
  })

  it("undoes retrying", () => {
    const policy = StatusPolicy.defaultPolicy.pipe(StatusPolicy.retrying([404]), StatusPolicy.notRetrying([404]))
    expect(table(policy)).toStrictEqual(defaultTable)
  })
})
