import { Coordinator } from "@effect-retry/core"
import { describe, expect, it } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Random from "effect/Random"
import * as TestClock from "effect/TestClock"
import * as Shared from "../../engine/test/shared/coordinator.js"

// The shared description of what the coordinator promises (packages/engine/test/shared/coordinator.ts), run on the
// Effect 3 line's coordinator, on the TestClock.

/** Runs one case: when each call was let go, or how it was refused. */
const runCase = (c: Shared.Case) =>
  Effect.gen(function*() {
    const coordinator = yield* Coordinator.make(Shared.optionsOf(c))
    const record = Shared.recorder(c)
    const call = (spec: Shared.Call) =>
      coordinator.withPermit(Shared.requestOf(spec), (permit) =>
        Effect.gen(function*() {
          record.sent(spec, yield* Clock.currentTimeMillis)
          const answer = spec.answer ?? (yield* Effect.never)
          yield* Effect.sleep(answer.after)
          yield* coordinator.observe(permit, Shared.answerOf(answer, yield* Clock.currentTimeMillis))
        })).pipe(
          Effect.catchTag(
            "OriginHeld",
            (e) => Effect.map(Clock.currentTimeMillis, (now) => record.refused(spec, now, e))
          )
        )
    for (const spec of c.calls) {
      yield* TestClock.adjust(spec.at - (yield* Clock.currentTimeMillis))
      yield* Effect.fork(call(spec))
      yield* TestClock.adjust(0)
    }
    yield* TestClock.adjust(Shared.END - (yield* Clock.currentTimeMillis))
    return record.outcomes()
  }).pipe(Effect.withRandom(Random.fixed([c.random ?? 0.5])))

describe("Coordinator, on the shared description", () => {
  for (const c of Shared.cases) {
    it.effect(c.name, () =>
      Effect.map(runCase(c), (outcomes) => {
        expect(outcomes).toStrictEqual(Shared.expectedOf(c))
      }))
  }
})
