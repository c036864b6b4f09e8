#!/usr/bin/env node
/**
 * Runs `docgen` in every package that has a `docgen.json` (it checks the JSDoc of the public modules, type-checks
 * and runs their examples, and writes `docs/`), then type-checks the examples docgen reads but does not compile:
 * those of classes (`export class NotFound extends ...`). They are taken from the generated Markdown, their imports
 * of the package pointed at `src/` as docgen does, and compiled with the package's `examplesCompilerOptions`.
 *
 * The packages run side by side, each one's output printed when it is done.
 *
 * Usage: `node scripts/docgen.mjs [packages/<pkg> ...]` (default: every `packages/*` with a `docgen.json`).
 */
import { spawn, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
const bin = (name) => path.join(root, "node_modules", ".bin", name)
const env = { ...process.env, PATH: `${path.join(root, "node_modules", ".bin")}${path.delimiter}${process.env.PATH}` }

const run = (command, args, cwd) => {
  const result = spawnSync(command, args, { cwd, env, stdio: "inherit" })
  return result.status === 0
}

/** Runs docgen in `cwd`, its output kept until it exits; resolves to whether it succeeded. */
const docgen = (cwd) =>
  new Promise((resolve) => {
    const child = spawn(bin("docgen"), [], { cwd, env, stdio: ["ignore", "pipe", "pipe"] })
    const output = []
    child.stdout.on("data", (chunk) => output.push(chunk))
    child.stderr.on("data", (chunk) => output.push(chunk))
    child.on("error", (error) => output.push(Buffer.from(`${error.message}\n`)))
    child.on("close", (code) => {
      console.log(`docgen: ${path.relative(root, cwd)}`)
      process.stdout.write(Buffer.concat(output))
      resolve(code === 0)
    })
  })

/** The ```ts blocks under `**Example**` in the sections of classes, from docgen's Markdown. */
const classExamples = (markdown) => {
  const examples = []
  let section = ""
  let inExample = false
  let block
  for (const line of markdown.split("\n")) {
    if (block !== undefined) {
      if (line.startsWith("```")) {
        examples.push({ section, code: block.join("\n") })
        block = undefined
      } else block.push(line)
    } else if (line.startsWith("## ")) {
      section = line.slice(3).trim()
      inExample = false
    } else if (line.startsWith("**")) {
      inExample = line.trim() === "**Example**"
    } else if (inExample && section.endsWith(" (class)") && /^```(ts|typescript)\b/.test(line)) {
      block = []
    }
  }
  return examples
}

const checkClassExamples = (pkgDir) => {
  const { name } = JSON.parse(fs.readFileSync(path.join(pkgDir, "package.json"), "utf8"))
  const config = JSON.parse(fs.readFileSync(path.join(pkgDir, "docgen.json"), "utf8"))
  const docs = path.join(pkgDir, config.outDir ?? "docs")
  const out = path.join(docs, "class-examples")
  fs.rmSync(out, { recursive: true, force: true })
  const modules = path.join(docs, "modules")
  const files = []
  for (const file of fs.readdirSync(modules).filter((f) => f.endsWith(".ts.md")).sort()) {
    classExamples(fs.readFileSync(path.join(modules, file), "utf8")).forEach(({ code, section }, i) => {
      const importOf = new RegExp(`from (["'])${name.replace(/[/.]/g, "\\$&")}(?:/([^"']*))?\\1`, "g")
      const source = code.replace(importOf, (_, quote, sub) => `from ${quote}../../src${sub ? `/${sub}` : ""}${quote}`)
      const target = `${file.replace(/\.ts\.md$/, "")}-${section.replace(/ \(class\)$/, "")}-${i}.ts`
      files.push(target)
      fs.mkdirSync(out, { recursive: true })
      fs.writeFileSync(path.join(out, target), `${source}\nexport {}\n`)
    })
  }
  if (files.length === 0) return true
  const tsconfig = { compilerOptions: config.examplesCompilerOptions ?? {}, include: ["./*.ts"] }
  fs.writeFileSync(path.join(out, "tsconfig.json"), JSON.stringify(tsconfig, null, 2))
  const ok = run(bin("tsc"), ["--noEmit", "-p", path.join(out, "tsconfig.json")], pkgDir)
  if (ok) {
    console.log(`${path.relative(root, pkgDir)}: ${files.length} class examples type-checked`)
    fs.rmSync(out, { recursive: true, force: true })
  }
  return ok
}

const args = process.argv.slice(2)
const packages = args.length > 0
  ? args.map((a) => path.resolve(a))
  : fs.readdirSync(path.join(root, "packages")).map((d) => path.join(root, "packages", d)).sort()
const results = await Promise.all(
  packages.filter((p) => fs.existsSync(path.join(p, "docgen.json"))).map(async (pkgDir) =>
    (await docgen(pkgDir)) && checkClassExamples(pkgDir)
  )
)
process.exit(results.every((ok) => ok) ? 0 : 1)
