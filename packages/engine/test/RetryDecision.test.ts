import { describe, expect, it } from "vitest"
import * as RetryDecision from "../src/RetryDecision.js"

const backoff = { jitter: "none", baseDelay: 100, maxDelay: 10_000, factor: 2 } as const
const policy: RetryDecision.Policy = {
  maxAttempts: 5,
  maxTransientAttempts: 4,
  timeout: 30_000,
  maxRetryAfter: 60_000,
  retryAfterSpread: 0,
  maxRetryAfterSpread: 0,
  transientBackoff: backoff,
  throttledBackoff: backoff
}
const transient = { kind: "transient", hint: undefined, resendable: true, stop: undefined } as const

describe("RetryDecision", () => {
  it("backs off exponentially until the transient attempts are used up", () => {
    let state = RetryDecision.initialState(policy, 0)
    const delays: Array<number> = []
    for (;;) {
      const [made, next] = RetryDecision.decide(policy, state, transient, 0, 0.5)
      if (made._tag === "Stop") {
        expect(made).toEqual({ _tag: "Stop", reason: "attempts", attempts: 4 })
        break
      }
      delays.push(made.delay)
      state = next
    }
    expect(delays).toEqual([100, 200, 400])
  })

  it("a failure the coordinator paces is retried at once (it holds the retry until its turn); a server's hint still rules", () => {
    const state = RetryDecision.initialState(policy, 0)
    const paced = { kind: "throttled", hint: undefined, resendable: true, stop: undefined, paced: true } as const
    expect(RetryDecision.needsBackoff(paced)).toBe(false)
    expect(RetryDecision.needsBackoff({ ...paced, paced: false })).toBe(true)
    expect(RetryDecision.decide(policy, state, paced, 0, 0.5)[0]).toEqual({
      _tag: "Retry",
      delay: 0,
      source: "pacing",
      kind: "throttled",
      attempts: 1
    })
    const hint = { source: "retry-after", millis: 2_000, at: 2_000 } as const
    expect(RetryDecision.decide(policy, state, { ...paced, hint }, 0, 0.5)[0]).toMatchObject({
      delay: 2_000,
      source: "retry-after"
    })
    // A request that may not be sent again is not, paced or not.
    expect(RetryDecision.decide(policy, state, { ...paced, resendable: false }, 0, 0.5)[0]).toEqual({
      _tag: "Stop",
      reason: "unsafe-method",
      attempts: 1
    })
  })

  it("a call the coordinator held stops with the hold's reason, counting no attempt", () => {
    const state = RetryDecision.initialState(policy, 0)
    expect(RetryDecision.decide(policy, state, RetryDecision.held("retry-budget"), 0, 0.5)[0]).toEqual({
      _tag: "Stop",
      reason: "retry-budget",
      attempts: 0
    })
    expect(RetryDecision.decide(policy, state, RetryDecision.held("cooldown"), 0, 0.5)[0]).toEqual({
      _tag: "Stop",
      reason: "timeout",
      attempts: 0
    })
  })
})
