import { defineProject } from "vitest/config"

export default defineProject({
  test: {
    name: "consumer",
    include: ["test/**/*.test.ts"],
    testTimeout: 300_000,
    // After every other project: its npm install and type-check would load the machine under their timed tests.
    sequence: { groupOrder: 1 }
  }
})
