#!/usr/bin/env node
/**
 * The path a user takes, on the packages as they would be published: builds the workspace, packs
 * @effect-retry/engine, @effect-retry/core and @effect-retry/platform with `pnpm pack`, checks the tarballs with publint and
 * @arethetypeswrong/cli, installs them with npm into a fresh project with the README's install line, type-checks a
 * small program under `strict` and `exactOptionalPropertyTypes` (NodeNext) with the workspace's TypeScript, and
 * runs it against a local server that answers 503 with `Retry-After: 1`, then 200; then the same for the Effect 4 line
 * (@effect-retry/effect4 with `effect` 4.x, on its README's install line) in a project of its own.
 *
 *   node scripts/consumer-test.mjs            the install line's versions (the newest of each line)
 *   node scripts/consumer-test.mjs --lowest   the lowest versions the peer ranges allow
 *   KEEP=1 node scripts/consumer-test.mjs     keep the temporary directory to look at
 *
 * Exits 0 when every step passed; prints each step and what failed.
 */
import { execFile } from "node:child_process"
import * as fs from "node:fs"
import * as http from "node:http"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"

const run = promisify(execFile)
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
const bin = (name) => path.join(root, "node_modules", ".bin", name)
const lowest = process.argv.includes("--lowest")
const packages = [
  { name: "@effect-retry/engine", dir: path.join(root, "packages", "engine") },
  { name: "@effect-retry/core", dir: path.join(root, "packages", "core") },
  { name: "@effect-retry/platform", dir: path.join(root, "packages", "platform") },
  { name: "@effect-retry/effect4", dir: path.join(root, "packages", "effect4") }
]
/** The Effect 3 line: the packages its install line names (the engine comes with them as a dependency). */
const named = packages.filter(({ name }) => name === "@effect-retry/core" || name === "@effect-retry/platform")
/** The packages of the Effect 3 line's project. */
const effect3 = packages.filter(({ name }) => name !== "@effect-retry/effect4")

// Children get a plain environment: nothing of the pnpm or npm script that may have started this one.
const env = Object.fromEntries(
  Object.entries(process.env).filter(([key]) =>
    !/^(npm_(command|lifecycle_|package_|config_(user_agent|verify_deps_before_run))|pnpm_|PNPM_)/i.test(key)
  )
)
env.NO_UPDATE_NOTIFIER = "1"

/** The user's program: typed result, typed errors handled by name, a subpath import, the coordinator. */
const program = `import { HttpClient, HttpClientResponse } from "@effect/platform"
import { NodeHttpClient } from "@effect/platform-node"
import { Backoff, Coordinator, ServerHint, StatusError } from "@effect-retry/core"
import * as RetryAfter from "@effect-retry/core/RetryAfter"
import { type StatusRetry, withStatusRetry } from "@effect-retry/platform"
import { Duration, Effect, Option, Schema } from "effect"

const Item = Schema.Struct({ id: Schema.Number, name: Schema.String })
type Item = typeof Item.Type

const base = process.argv[2]
if (base === undefined) throw new Error("usage: node build/main.js <base url>")

const options: StatusRetry.Options = { maxAttempts: 3, timeout: "10 seconds" }

export const getItem = Effect.gen(function*() {
  const client = (yield* HttpClient.HttpClient).pipe(withStatusRetry(options))
  const response = yield* client.get(\`\${base}/items/1\`)
  return yield* HttpClientResponse.schemaBodyJson(Item)(response)
})

// Only what is left after the handlers stays in the error channel.
export const handled: Effect.Effect<Item | null, Exclude<StatusError.StatusError, StatusError.NotFound> | Error, HttpClient.HttpClient> =
  getItem.pipe(Effect.catchTag("NotFound", () => Effect.succeed(null)))

const program = handled.pipe(
  Effect.catchTag("ServiceUnavailable", (e) => Effect.fail(new Error(\`unavailable after \${e.attempts} attempts\`))),
  Effect.provide(Coordinator.layer()),
  Effect.provide(NodeHttpClient.layerUndici)
)

// Exported with inferred types: their declarations must name every type by a public path.
export const source = Option.map(ServerHint.fromHeaders({ "retry-after": "1" }), (hint) => hint.source)
export const jitter = Backoff.jitters[0]

const item: Item | null = await Effect.runPromise(program)
const retryAfter: number = Option.getOrThrow(Option.map(RetryAfter.parse("1"), Duration.toMillis))
console.log(JSON.stringify({ ...item, retryAfter }))
`

/** The Effect 4 line's program: `withStatusRetry` on Effect 4's FetchHttpClient, a typed error handled by name. */
const program4 = `import { StatusError, withStatusRetry } from "@effect-retry/effect4"
import { Effect } from "effect"
import { FetchHttpClient, HttpClient } from "effect/http"

const base = process.argv[2]
if (base === undefined) throw new Error("usage: node build/main.js <base url>")

const program = Effect.gen(function*() {
  const client = (yield* HttpClient.HttpClient).pipe(withStatusRetry({ maxAttempts: 3, timeout: "10 seconds" }))
  const response = yield* client.get(\`\${base}/items/1\`)
  return yield* response.json
}).pipe(Effect.catchTag("NotFound", () => Effect.succeed(null)), Effect.provide(FetchHttpClient.layer))

export const isStatusError = StatusError.isStatusError
console.log(JSON.stringify(await Effect.runPromise(program)))
`

const started = Date.now()
const step = (text) => console.log(`[${((Date.now() - started) / 1000).toFixed(1).padStart(5)} s] ${text}`)
const failures = []
const check = (ok, text) => {
  if (!ok) failures.push(text)
  console.log(`${ok ? "  ok  " : "  FAIL"} ${text}`)
}

const exec = async (file, args, options = {}) => {
  try {
    return await run(file, args, { env, maxBuffer: 64 * 1024 * 1024, ...options })
  } catch (error) {
    const output = `${error.stdout ?? ""}${error.stderr ?? ""}`.trim()
    throw new Error(`${path.basename(file)} ${args.join(" ")} failed (${error.code ?? error.signal}):\n${output}`)
  }
}

/** The `npm install` line of a README's Install section, as its words. */
const installLine = (file) => {
  const text = fs.readFileSync(file, "utf8")
  const match = /^## Install\s*\n[\s\S]*?```sh\n(npm install [^\n]+)\n```/m.exec(text)
  return match === null ? undefined : match[1].trim().split(/\s+/).slice(2)
}

/**
 * A server on 127.0.0.1 that answers its first request 503 with `Retry-After: 1`, and the others 200 with an item;
 * `server.close` closes it.
 */
const serveOnce503 = async () => {
  const arrivals = []
  const listening = http.createServer((req, res) => {
    arrivals.push({ at: Date.now(), path: req.url })
    req.resume()
    if (arrivals.length === 1) {
      res.writeHead(503, { "retry-after": "1", "content-type": "application/json" })
      res.end(JSON.stringify({ error: "maintenance" }))
    } else {
      res.writeHead(200, { "content-type": "application/json" })
      res.end(JSON.stringify({ id: 1, name: "widget" }))
    }
  })
  await new Promise((resolve) => listening.listen(0, "127.0.0.1", resolve))
  server.close = () => {
    listening.closeAllConnections()
    listening.close()
  }
  return { arrivals, url: `http://127.0.0.1:${listening.address().port}` }
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "effect-retry-consumer-"))
const server = { close: () => {} }
try {
  step("build")
  await exec(bin("tsc"), ["-b", "tsconfig.json"], { cwd: root })

  step("pack")
  const packs = path.join(tmp, "packs")
  fs.mkdirSync(packs)
  const tarballs = new Map()
  for (const { dir, name } of packages) {
    await exec("pnpm", ["pack", "--pack-destination", packs], { cwd: dir })
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8"))
    const file = path.join(packs, `${name.slice(1).replace("/", "-")}-${manifest.version}.tgz`)
    check(fs.existsSync(file), `${name}: packed as ${path.basename(file)}`)
    tarballs.set(name, file)

    const { stdout: listing } = await exec("tar", ["tzf", file])
    const entries = new Set(listing.split("\n").map((line) => line.replace(/^package\//, "")))
    for (
      const expected of ["LICENSE", "README.md", "CHANGELOG.md", "package.json", "build/index.js", "build/index.d.ts"]
    ) {
      check(entries.has(expected), `${name}: the tarball holds ${expected}`)
    }
    check(![...entries].some((e) => e.startsWith("test/") || e.includes(".tsbuildinfo")), `${name}: no tests in it`)

    // Every public module (a PascalCase file of src/) is exported, and nothing else but the index.
    const modules = fs.readdirSync(path.join(dir, "src")).filter((f) => /^[A-Z]\w*\.ts$/.test(f))
    const wanted = [".", "./package.json", ...modules.map((f) => `./${f.slice(0, -3)}`)].sort()
    check(
      JSON.stringify(Object.keys(manifest.exports).sort()) === JSON.stringify(wanted),
      `${name}: exports are exactly the index and ${modules.length} public modules`
    )

    step(`publint ${path.basename(file)}`)
    const publint = await exec(bin("publint"), ["run", file, "--strict"]).then((r) => r.stdout, (e) => e.message)
    check(/All good!/.test(publint), `${name}: publint --strict reports no problem`)
    if (!/All good!/.test(publint)) console.log(publint)

    step(`attw ${path.basename(file)}`)
    // ESM only, by design: the profile leaves out CommonJS `require` and the pre-exports node10 resolution.
    const attw = await exec(bin("attw"), [file, "--profile", "esm-only", "--format", "ascii"]).then(
      (r) => ({ ok: true, out: r.stdout }),
      (e) => ({ ok: false, out: e.message })
    )
    check(attw.ok, `${name}: @arethetypeswrong/cli (esm-only profile) reports no problem`)
    if (!attw.ok) console.log(attw.out)
  }

  step("install with npm, on the README's install line")
  const line = installLine(path.join(packages[2].dir, "README.md"))
  if (line === undefined) throw new Error("packages/platform/README.md has no `npm install` line under ## Install")
  const rootLine = installLine(path.join(root, "README.md"))
  if (rootLine !== undefined) {
    check(rootLine.join(" ") === line.join(" "), "the root README's install line is the platform README's")
  }
  const lowestOf = { effect: "3.22.0", "@effect/platform": "0.97.0", "@effect/platform-node": "0.108.0" }
  const specs = line.map((spec) => {
    if (tarballs.has(spec)) return tarballs.get(spec)
    const name = spec.replace(/(.)@.*$/, "$1")
    return lowest && lowestOf[name] !== undefined ? `${name}@${lowestOf[name]}` : spec
  })
  // The lowest @effect/platform-node's own peers, at their lowest too (their newest ask for a newer platform).
  if (lowest) {
    specs.push("@effect/cluster@0.60.0", "@effect/rpc@0.76.0", "@effect/sql@0.52.0", "@effect/workflow@0.19.0")
    specs.push("@effect/experimental@0.61.0")
  }
  check(named.every(({ name }) => line.includes(name)), "the install line names both packages")
  // The engine is not published yet when this runs: its tarball stands in for the version core depends on.
  specs.push(tarballs.get("@effect-retry/engine"))
  const app = path.join(tmp, "app")
  fs.mkdirSync(path.join(app, "src"), { recursive: true })
  fs.writeFileSync(
    path.join(app, "package.json"),
    JSON.stringify({ name: "consumer", version: "0.0.0", private: true, type: "module" }, null, 2)
  )
  const npmFlags = ["--no-audit", "--no-fund", "--loglevel=error", "--prefer-offline"]
  await exec("npm", ["install", ...npmFlags, ...(lowest ? ["--save-exact"] : []), ...specs], { cwd: app })
  // A TypeScript program on Node has Node's types; they are the program's own dev dependency, not the toolkit's.
  await exec("npm", ["install", ...npmFlags, "--save-dev", "@types/node@20"], { cwd: app })
  const installed = (name) =>
    JSON.parse(fs.readFileSync(path.join(app, "node_modules", name, "package.json"), "utf8")).version
  const versions = ["effect", "@effect/platform", "@effect/platform-node", ...effect3.map((p) => p.name)]
    .map((name) => `${name}@${installed(name)}`)
  console.log(`        installed ${versions.join(", ")}`)
  check(installed("effect").startsWith("3."), "effect is on the 3.x line")

  step("type-check a strict program (NodeNext, exactOptionalPropertyTypes) with the workspace's TypeScript")
  fs.writeFileSync(
    path.join(app, "tsconfig.json"),
    JSON.stringify(
      {
        compilerOptions: {
          strict: true,
          exactOptionalPropertyTypes: true,
          noUncheckedIndexedAccess: true,
          module: "NodeNext",
          moduleResolution: "NodeNext",
          target: "ES2022",
          lib: ["ES2022"],
          declaration: true,
          types: ["node"],
          skipLibCheck: true,
          rootDir: "src",
          outDir: "build"
        },
        include: ["src"]
      },
      null,
      2
    )
  )
  fs.writeFileSync(path.join(app, "src", "main.ts"), program)
  // The packages' README examples are type-checked too (not run: they call a public API).
  for (const { dir } of effect3) {
    const text = fs.readFileSync(path.join(dir, "README.md"), "utf8")
    const examples = [...text.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1])
    check(examples.length > 0, `${path.basename(dir)}/README.md has an example`)
    examples.forEach((code, i) => fs.writeFileSync(path.join(app, "src", `readme-${path.basename(dir)}-${i}.ts`), code))
  }
  await exec(bin("tsc"), ["-p", "tsconfig.json"], { cwd: app })
  check(true, "tsc reports no error, in the program and the README examples")
  const declarations = fs.readFileSync(path.join(app, "build", "main.d.ts"), "utf8")
  check(!/internal/.test(declarations), "the program's declarations name the toolkit's types by public paths only")
  // The toolkit's declarations are checked too. Effect's own need more than this project has (DOM types, @types/ws):
  // only errors in @effect-retry's files count.
  const libCheck = await exec(bin("tsc"), ["-p", "tsconfig.json", "--noEmit", "--skipLibCheck", "false"], { cwd: app })
    .then((r) => r.stdout, (e) => e.message)
  const ours = libCheck.split("\n").filter((l) => l.startsWith("node_modules/@effect-retry/"))
  check(ours.length === 0, "the toolkit's declaration files type-check under the same options")
  if (ours.length > 0) console.log(ours.join("\n"))

  step("run it against a local server: 503 + Retry-After: 1, then 200")
  const { arrivals, url } = await serveOnce503()
  const { stdout } = await exec(process.execPath, ["build/main.js", url], { cwd: app, timeout: 30_000 })
  server.close()
  const result = stdout.trim().split("\n").at(-1)
  check(result === `{"id":1,"name":"widget","retryAfter":1000}`, `the program printed its typed result: ${result}`)
  check(arrivals.length === 2, `the server saw 2 requests (it saw ${arrivals.length})`)
  check(arrivals.every((a) => a.path === "/items/1"), "both for /items/1")
  const gap = arrivals.length === 2 ? arrivals[1].at - arrivals[0].at : 0
  check(gap >= 1000 && gap < 3000, `the retry came after the server's second, not before (${gap} ms)`)

  step("the Effect 4 line: install with npm on its README's install line, type-check, run")
  const line4 = installLine(path.join(packages[3].dir, "README.md"))
  if (line4 === undefined) throw new Error("packages/effect4/README.md has no `npm install` line under ## Install")
  check(line4.includes("@effect-retry/effect4"), "the Effect 4 install line names @effect-retry/effect4")
  const specs4 = line4.map((spec) => {
    if (tarballs.has(spec)) return tarballs.get(spec)
    return lowest && spec.startsWith("effect@") ? "effect@4.1.0" : spec
  })
  specs4.push(tarballs.get("@effect-retry/engine"))
  const app4 = path.join(tmp, "app4")
  fs.mkdirSync(path.join(app4, "src"), { recursive: true })
  fs.writeFileSync(
    path.join(app4, "package.json"),
    JSON.stringify({ name: "consumer4", version: "0.0.0", private: true, type: "module" }, null, 2)
  )
  await exec("npm", ["install", ...npmFlags, ...(lowest ? ["--save-exact"] : []), ...specs4], { cwd: app4 })
  await exec("npm", ["install", ...npmFlags, "--save-dev", "@types/node@20"], { cwd: app4 })
  const effect4Version = JSON.parse(fs.readFileSync(path.join(app4, "node_modules", "effect", "package.json"), "utf8"))
    .version
  console.log(`        installed effect@${effect4Version}`)
  check(effect4Version.startsWith("4."), "effect is on the 4.x line")
  fs.copyFileSync(path.join(app, "tsconfig.json"), path.join(app4, "tsconfig.json"))
  fs.writeFileSync(path.join(app4, "src", "main.ts"), program4)
  const text4 = fs.readFileSync(path.join(packages[3].dir, "README.md"), "utf8")
  const examples4 = [...text4.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1])
  check(examples4.length > 0, "effect4/README.md has an example")
  examples4.forEach((code, i) => fs.writeFileSync(path.join(app4, "src", `readme-effect4-${i}.ts`), code))
  await exec(bin("tsc"), ["-p", "tsconfig.json"], { cwd: app4 })
  check(true, "tsc reports no error in the Effect 4 program and the README examples")
  const second = await serveOnce503()
  const url4 = second.url
  const run4 = await exec(process.execPath, ["build/main.js", url4], { cwd: app4, timeout: 30_000 })
  server.close()
  const result4 = run4.stdout.trim().split("\n").at(-1)
  check(result4 === `{"id":1,"name":"widget"}`, `the Effect 4 program printed its result: ${result4}`)
  const gap4 = arrivals.length === 2 ? arrivals[1].at - arrivals[0].at : 0
  check(
    arrivals.length === 2 && gap4 >= 1000 && gap4 < 3000,
    `2 requests, the retry after the server's second (${gap4} ms)`
  )
} catch (error) {
  failures.push(error.message)
  console.log(`  FAIL ${error.message}`)
} finally {
  server.close()
  if (process.env.KEEP) console.log(`kept ${tmp}`)
  else fs.rmSync(tmp, { recursive: true, force: true })
}

step(failures.length === 0 ? "consumer test passed" : `consumer test failed: ${failures.length} problem(s)`)
process.exitCode = failures.length === 0 ? 0 : 1
