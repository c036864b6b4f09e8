/**
 * Runs one example by name: `pnpm example maintenance-window`.
 */
import { NodeRuntime } from "@effect/platform-node"
import * as Effect from "effect/Effect"

const examples = ["demo", "tour", "rate-limited-client", "maintenance-window", "typed-errors", "fleet"]
const name = process.argv[2] ?? ""

if (!examples.includes(name)) {
  console.error(`usage: pnpm example <${examples.join(" | ")}>`)
  process.exit(2)
}
const module: { main: Effect.Effect<unknown, unknown> } = await import(`./${name}.js`)
NodeRuntime.runMain(Effect.asVoid(module.main), { disablePrettyLogger: name === "demo" })
