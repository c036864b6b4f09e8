import { execFile } from "node:child_process"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { expect, it } from "vitest"

const script = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "consumer-test.mjs")

// Packs both packages, installs the tarballs with npm on the README's install line into a fresh project, type-checks
// a strict program against them and runs it on a local server; publint and attw check the tarballs.
it("the packed packages install, type-check and run in a fresh npm project", async () => {
  const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve) => {
    const child = execFile(process.execPath, [script], { maxBuffer: 64 * 1024 * 1024, timeout: 280_000 })
    let output = ""
    child.stdout?.on("data", (chunk: string) => (output += chunk))
    child.stderr?.on("data", (chunk: string) => (output += chunk))
    child.on("close", (code) => resolve({ code, output }))
  })
  const failed = output.split("\n").filter((line) => line.startsWith("  FAIL"))
  expect(failed, output).toEqual([])
  expect(code, output).toBe(0)
  expect(output).toMatch(/consumer test passed/)
}, 300_000)
