import { defineWorkspace } from "vitest/config"

export default defineWorkspace([
  "packages/*/vitest.config.ts",
  "examples/vitest.config.ts",
  "examples-effect4/vitest.config.ts",
  "scripts/vitest.config.ts"
])
