import * as Effect from "effect/Effect"
import { describe, expect, it } from "vitest"
import { CALLS, main } from "../src/demo.js"

// The example prints what it does; the test keeps the output quiet and checks what it returns.
const quiet = async <A>(effect: Effect.Effect<A>): Promise<A> => {
  const log = console.log
  console.log = () => {}
  try {
    return await Effect.runPromise(effect)
  } finally {
    console.log = log
  }
}

describe("examples (Effect 4)", () => {
  it("demo: 12 calls through a 5-per-second limit, alone and coordinated, within 15 s", async () => {
    const began = Date.now()
    const { alone, coordinated } = await quiet(main)
    for (const round of [alone, coordinated]) {
      expect(round.statuses).toEqual(Array(CALLS).fill(200))
      // The last of three windows opens 2 s in: nothing can finish before it.
      expect(round.elapsed).toBeGreaterThanOrEqual(2_000)
    }
    // Alone, the 7 calls that met the first full window were told 429 and came back, and so were the 2 of those
    // that met the second.
    expect(alone.refused).toBeGreaterThanOrEqual(7 + 2)
    expect(alone.sent).toBe(CALLS + alone.refused)
    // Coordinated, the first answer taught the limit: one request per call, none refused.
    expect(coordinated).toMatchObject({ sent: CALLS, refused: 0 })
    expect(Date.now() - began).toBeLessThan(15_000)
  }, 20_000)
})
