#!/usr/bin/env node
/**
 * Checks the JSDoc of every public module (`packages/<pkg>/src/*.ts`, not `src/internal/**`) and type-checks every
 * `@example` against the built packages.
 *
 * 1. Every exported declaration needs a JSDoc block right before it with a first sentence, `@since`, `@category`
 *    and at least one `@example` holding a fenced ```ts block. Re-exports in `index.ts` (`export * as X from`) and
 *    the module-level comment need only a first sentence and `@since`. Declarations tagged `@internal` are skipped,
 *    as are overload signatures after the first one and members of interfaces, types, classes and namespaces.
 * 2. Every ```ts block of an `@example` is written to `packages/<pkg>/.examples/<Module>-<n>.ts` (git-ignored),
 *    with a `tsconfig.json` that extends the base config and references the package, and `tsc -p` type-checks them.
 *    Imports such as `@effect-retry/core` resolve through the package's exports map to `build/*.d.ts`, so build
 *    first (`tsc -b tsconfig.json`). Compiler messages are mapped back to the line of the example in the source.
 *
 * A package without public modules is skipped, and so is the example check of a package whose build is missing.
 *
 * Usage: `node scripts/check-docs.mjs [packages/<pkg> ...]` (default: every `packages/*`). Exits 1 on any problem.
 */
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import { createRequire } from "node:module"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
const EXAMPLES_DIR = ".examples"
const rel = (file) => path.relative(root, file).split(path.sep).join("/")

// ---------------------------------------------------------------------------------------------------------------
// Lexing: JSDoc comments and top-level `export` keywords, skipping strings, templates, regexes and other comments.
// ---------------------------------------------------------------------------------------------------------------

const REGEX_AFTER_WORDS = new Set([
  "return", "typeof", "instanceof", "in", "of", "new", "delete", "void", "throw", "case", "do", "else", "yield",
  "await"
])
const REGEX_AFTER_PUNCTUATION = new Set([..."(,=:[!&|?{};+-*%<>~^"])

/**
 * @returns {{ jsdocs: Array<{ start: number, end: number }>, exports: Array<{ pos: number, prevCodeEnd: number }>,
 *   firstCode: number }}
 */
const lex = (src) => {
  const jsdocs = []
  const exports = []
  const templateDepths = [] // brace depth at which each open `${` of a template literal started
  const n = src.length
  let i = 0
  let depth = 0
  let lastSig = "" // the last significant token, to tell a regex from a division
  let lastCodeEnd = 0
  let firstCode = -1
  const code = (start, end, token) => {
    if (firstCode < 0) firstCode = start
    lastCodeEnd = end
    lastSig = token
  }
  // Scans template text from `j` (just after "`" or "}"); returns the index after the closing "`" or after "${".
  const template = (j) => {
    while (j < n) {
      const c = src[j]
      if (c === "\\") j += 2
      else if (c === "`") return j + 1
      else if (c === "$" && src[j + 1] === "{") {
        templateDepths.push(depth)
        depth++
        return j + 2
      } else j++
    }
    return n
  }
  while (i < n) {
    const c = src[i]
    if (c === " " || c === "\t" || c === "\n" || c === "\r" || c === "\f" || c === "\v" || c === "\ufeff") {
      i++
    } else if (c === "/" && src[i + 1] === "/") {
      const end = src.indexOf("\n", i)
      i = end < 0 ? n : end
    } else if (c === "/" && src[i + 1] === "*") {
      const close = src.indexOf("*/", i + 2)
      const end = close < 0 ? n : close + 2
      if (src[i + 2] === "*" && src[i + 3] !== "/") jsdocs.push({ start: i, end })
      i = end
    } else if (c === "\"" || c === "'") {
      let j = i + 1
      while (j < n && src[j] !== c && src[j] !== "\n") j += src[j] === "\\" ? 2 : 1
      code(i, j + 1, "string")
      i = j + 1
    } else if (c === "`") {
      const end = template(i + 1)
      code(i, end, "template")
      i = end
    } else if (c === "/") {
      const isRegex = lastSig === "" || REGEX_AFTER_PUNCTUATION.has(lastSig) || REGEX_AFTER_WORDS.has(lastSig)
      let j = i + 1
      if (isRegex) {
        let inClass = false
        while (j < n && src[j] !== "\n") {
          const d = src[j]
          if (d === "\\") j++
          else if (d === "[") inClass = true
          else if (d === "]") inClass = false
          else if (d === "/" && !inClass) break
          j++
        }
        j++
        while (j < n && /[a-z]/i.test(src[j])) j++
      }
      code(i, j, isRegex ? "regex" : "/")
      i = j
    } else if (/[A-Za-z_$]/.test(c)) {
      let j = i + 1
      while (j < n && /[\w$]/.test(src[j])) j++
      const word = src.slice(i, j)
      if (word === "export" && depth === 0 && lastSig !== ".") exports.push({ pos: i, prevCodeEnd: lastCodeEnd })
      code(i, j, word)
      i = j
    } else if (/[0-9]/.test(c)) {
      let j = i + 1
      while (j < n && /[\w.]/.test(src[j])) j++
      code(i, j, "number")
      i = j
    } else if (c === "{") {
      depth++
      code(i, i + 1, c)
      i++
    } else if (c === "}") {
      depth--
      if (templateDepths.length > 0 && templateDepths[templateDepths.length - 1] === depth) {
        templateDepths.pop()
        const end = template(i + 1)
        code(i, end, "template")
        i = end
      } else {
        code(i, i + 1, c)
        i++
      }
    } else {
      code(i, i + 1, c)
      i++
    }
  }
  return { jsdocs, exports, firstCode: firstCode < 0 ? n : firstCode }
}

// ---------------------------------------------------------------------------------------------------------------
// JSDoc parsing
// ---------------------------------------------------------------------------------------------------------------

const lineStarts = (src) => {
  const starts = [0]
  for (let i = 0; i < src.length; i++) if (src[i] === "\n") starts.push(i + 1)
  return starts
}

const lineOf = (starts, pos) => {
  let lo = 0
  let hi = starts.length - 1
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1
    if (starts[mid] <= pos) lo = mid
    else hi = mid - 1
  }
  return lo + 1
}

/**
 * Splits a JSDoc block into its content lines (without the leading ` * `), each with its 1-based source line and
 * the 0-based source column its content starts at; then into a description and tags.
 */
const parseJsDoc = (src, starts, { start, end }) => {
  const firstLine = lineOf(starts, start)
  const rawLines = src.slice(start, end).split("\n")
  const lines = rawLines.map((raw, k) => {
    let text = raw.replace(/\r$/, "")
    let col = 0
    if (k === 0) {
      // `rawLines[0]` starts with the `/**` opener itself.
      text = text.slice(3)
      col = start - starts[firstLine - 1] + 3
    }
    if (k === rawLines.length - 1) text = text.replace(/\s*\*\/$/, "")
    const m = k === 0 ? /^ ?/.exec(text) : /^\s*\*(?!\/) ?/.exec(text)
    if (m) {
      text = text.slice(m[0].length)
      col += m[0].length
    }
    return { text, line: firstLine + k, col }
  })
  const description = []
  const tags = []
  let inFence = false
  for (const l of lines) {
    const trimmed = l.text.trim()
    if (!inFence && trimmed.startsWith("@")) {
      const m = /^@(\w+)\s*(.*)$/.exec(trimmed)
      if (m) {
        tags.push({ name: m[1], value: m[2].trim(), line: l.line, body: [] })
        continue
      }
    }
    if (trimmed.startsWith("```")) inFence = !inFence
    if (tags.length > 0) tags[tags.length - 1].body.push(l)
    else description.push(l)
  }
  return { line: firstLine, description, tags }
}

const firstParagraph = (doc) => {
  const texts = doc.description.map((l) => l.text.trim())
  while (texts.length > 0 && texts[0] === "") texts.shift()
  const blank = texts.indexOf("")
  return (blank < 0 ? texts : texts.slice(0, blank)).join(" ").trim()
}

/** The fenced code blocks of a tag's body: `{ lang, lines: [{ text, line, col }], closed }`. */
const fencedBlocks = (tag) => {
  const blocks = []
  let current
  for (const l of tag.body) {
    const trimmed = l.text.trim()
    if (current === undefined) {
      const m = /^(\s*)```\s*([\w-]*)/.exec(l.text)
      if (m) current = { lang: m[2].toLowerCase(), indent: m[1].length, lines: [], closed: false, line: l.line }
    } else if (trimmed === "```") {
      current.closed = true
      blocks.push(current)
      current = undefined
    } else {
      const indent = /^\s*/.exec(l.text)[0].length
      const cut = Math.min(indent, current.indent)
      current.lines.push({ text: l.text.slice(cut), line: l.line, col: l.col + cut })
    }
  }
  if (current !== undefined) blocks.push(current)
  return blocks
}

const isTs = (lang) => lang === "ts" || lang === "typescript"

// ---------------------------------------------------------------------------------------------------------------
// Checking one module
// ---------------------------------------------------------------------------------------------------------------

const classify = (stmt) => {
  let m
  if ((m = /^export\s+\*\s+as\s+([\w$]+)\s+from\b/.exec(stmt))) return { kind: "reexport", name: m[1] }
  if ((m = /^export\s+\*\s+from\s+(["'][^"']*["'])/.exec(stmt))) return { kind: "reexport", name: `* from ${m[1]}` }
  if ((m = /^export\s+(type\s+)?\{([^}]*)\}(\s*from\b)?/.exec(stmt))) {
    const names = m[2].split(",").map((s) => s.trim()).filter((s) => s !== "")
    if (names.length === 0) return { kind: "empty", name: "{}" }
    return { kind: m[3] ? "reexport" : "list", name: `{ ${names.join(", ")} }` }
  }
  if ((m = /^export\s+default\b/.exec(stmt))) return { kind: "declaration", name: "default" }
  if ((m = /^export\s+(?:declare\s+)?const\s+enum\s+([\w$]+)/.exec(stmt))) return { kind: "declaration", name: m[1] }
  m = /^export\s+(?:declare\s+)?(?:abstract\s+)?(?:async\s+)?(const|let|var|function\s*\*?|class|interface|type|enum|namespace|module|import)\s*([\w$]+|\{[^}]*\}|\[[^\]]*\])/
    .exec(stmt)
  if (m) return { kind: "declaration", keyword: m[1].replace(/\s/g, ""), name: m[2].replace(/\s+/g, " ") }
  return { kind: "declaration", name: stmt.split("\n")[0].slice(0, 60) }
}

/**
 * @returns {{ violations: Array<string>, exportCount: number, examples: Array<{ name: string, block: object }> }}
 */
const checkModule = (file) => {
  const src = fs.readFileSync(file, "utf8")
  const starts = lineStarts(src)
  const { jsdocs, exports, firstCode } = lex(src)
  const isIndex = path.basename(file) === "index.ts"
  const where = (line) => `${rel(file)}:${line}`
  const violations = []
  const examples = []
  let exportCount = 0

  // The module-level comment: the first JSDoc before any code, unless it is the only JSDoc of an export right at
  // the top of the file.
  const leading = jsdocs.filter((d) => d.end <= firstCode)
  const exportAtTop = exports.length > 0 && exports[0].pos === firstCode
  const moduleDoc = leading.length > (exportAtTop ? 1 : 0) ? leading[0] : undefined

  const requireSentence = (doc, line, name) => {
    const sentence = firstParagraph(doc)
    if (sentence === "") violations.push(`${where(line)} ${name}: missing first sentence`)
    else if (!/^[A-Z0-9`"'(\[]/.test(sentence) || !/[.!?:]["'`)\]]*$/.test(sentence)) {
      violations.push(
        `${where(line)} ${name}: first sentence should start with a capital letter and end with ".", "!", "?" or ":"`
      )
    }
  }
  const requireTag = (doc, tagName, line, name, valuePattern) => {
    const tag = doc.tags.find((t) => t.name === tagName)
    if (tag === undefined) violations.push(`${where(line)} ${name}: missing @${tagName}`)
    else if (!valuePattern.test(tag.value)) {
      violations.push(`${where(tag.line)} ${name}: @${tagName} has no valid value (got "${tag.value}")`)
    }
  }

  if (moduleDoc === undefined) {
    violations.push(`${where(1)} (module): missing module-level JSDoc (first sentence and @since)`)
  } else {
    const doc = parseJsDoc(src, starts, moduleDoc)
    requireSentence(doc, doc.line, "(module)")
    requireTag(doc, "since", doc.line, "(module)", /^\d+\.\d+\.\d+/)
  }

  let previous
  for (const exp of exports) {
    const line = lineOf(starts, exp.pos)
    const stmt = src.slice(exp.pos, exp.pos + 1000)
    const { kind, keyword, name } = classify(stmt)
    if (kind === "empty") continue
    // Overload signatures: only the first one carries the documentation.
    const isOverload = keyword === "function" && previous?.keyword === "function" && previous.name === name
    previous = { keyword, name }
    if (isOverload) continue

    const candidates = jsdocs.filter((d) => d !== moduleDoc && d.start >= exp.prevCodeEnd && d.end <= exp.pos)
    const attached = candidates[candidates.length - 1]
    if (attached === undefined) {
      exportCount++
      violations.push(`${where(line)} ${name}: missing JSDoc`)
      continue
    }
    const doc = parseJsDoc(src, starts, attached)
    if (doc.tags.some((t) => t.name === "internal")) continue
    exportCount++
    requireSentence(doc, line, name)
    requireTag(doc, "since", line, name, /^\d+\.\d+\.\d+/)
    const lightweight = isIndex && kind === "reexport"
    if (!lightweight) requireTag(doc, "category", line, name, /\S/)
    const exampleTags = doc.tags.filter((t) => t.name === "example")
    if (!lightweight && exampleTags.length === 0) violations.push(`${where(line)} ${name}: missing @example`)
    for (const tag of exampleTags) {
      const blocks = fencedBlocks(tag)
      const tsBlocks = blocks.filter((b) => isTs(b.lang))
      if (tsBlocks.length === 0) violations.push(`${where(tag.line)} ${name}: @example has no fenced \`\`\`ts block`)
      for (const block of blocks) {
        if (!block.closed) violations.push(`${where(block.line)} ${name}: @example has an unclosed \`\`\` block`)
      }
      for (const block of tsBlocks) if (block.closed) examples.push({ name, block })
    }
  }
  return { violations, exportCount, examples }
}

// ---------------------------------------------------------------------------------------------------------------
// Type-checking the examples of one package
// ---------------------------------------------------------------------------------------------------------------

const tscPath = () => {
  try {
    const pkg = createRequire(path.join(root, "package.json")).resolve("typescript/package.json")
    const bin = path.join(path.dirname(pkg), "bin", "tsc")
    if (fs.existsSync(bin)) return { command: process.execPath, args: [bin] }
  } catch {
    // fall through to node_modules/.bin
  }
  return { command: path.join(root, "node_modules", ".bin", process.platform === "win32" ? "tsc.cmd" : "tsc"), args: [] }
}

/** Writes `.examples/` of a package; returns a map from generated file to its source lines. */
const writeExamples = (pkgDir, modules) => {
  const dir = path.join(pkgDir, EXAMPLES_DIR)
  fs.rmSync(dir, { recursive: true, force: true })
  fs.mkdirSync(dir, { recursive: true })
  const map = new Map()
  for (const { file, examples } of modules) {
    const moduleName = path.basename(file, ".ts")
    examples.forEach(({ name, block }, k) => {
      const out = path.join(dir, `${moduleName}-${k + 1}.ts`)
      const header = `// Generated by scripts/check-docs.mjs from ${rel(file)}:${block.line} (${name}); do not edit.`
      const body = block.lines.map((l) => l.text)
      const isModule = body.some((t) => /^(import|export)\b(?!\s*[(.])/.test(t))
      const text = [header, ...body, ...(isModule ? [] : ["export {}"]), ""].join("\n")
      fs.writeFileSync(out, text)
      // Generated line g (1-based) is source line `block.lines[g - 2]`: line 1 is the header.
      map.set(path.resolve(out), { file, name, lines: block.lines, fence: block.line })
    })
  }
  const tsconfig = {
    extends: "../../../tsconfig.base.json",
    compilerOptions: {
      noEmit: true,
      composite: false,
      incremental: false,
      declaration: false,
      declarationMap: false,
      sourceMap: false,
      noUnusedLocals: false,
      noUnusedParameters: false,
      types: ["node"]
    },
    include: ["./*.ts"],
    references: [{ path: ".." }]
  }
  fs.writeFileSync(path.join(dir, "tsconfig.json"), JSON.stringify(tsconfig, null, 2) + "\n")
  return { dir, map }
}

/** Runs `tsc -p` on the generated examples; returns the mapped messages (empty when they type-check). */
const typeCheck = (dir, map) => {
  const tsc = tscPath()
  const result = spawnSync(tsc.command, [...tsc.args, "-p", path.join(dir, "tsconfig.json"), "--pretty", "false"], {
    cwd: root,
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024
  })
  if (result.error) return [`could not run tsc: ${result.error.message}`]
  const output = `${result.stdout ?? ""}${result.stderr ?? ""}`.replace(/\r/g, "")
  if (result.status === 0) return []
  const messages = []
  for (const raw of output.split("\n")) {
    if (raw.trim() === "") continue
    const m = /^(.+?)\((\d+),(\d+)\): (error|warning|message) (TS\d+: .*)$/.exec(raw)
    const entry = m && map.get(path.resolve(root, m[1]))
    if (m && entry) {
      const genLine = Number(m[2])
      const genCol = Number(m[3])
      const source = entry.lines[genLine - 2]
      const location = source === undefined
        ? `${rel(entry.file)}:${entry.fence}`
        : `${rel(entry.file)}:${source.line}:${source.col + genCol}`
      messages.push(`${location} ${entry.name}: example does not compile: ${m[5]} (${rel(m[1])}:${genLine})`)
    } else if (m) {
      messages.push(`${rel(path.resolve(root, m[1]))}:${m[2]}:${m[3]} ${m[4]} ${m[5]}`)
    } else if (messages.length > 0 && /^\s/.test(raw)) {
      messages[messages.length - 1] += `\n    ${raw.trim()}`
    } else {
      messages.push(raw)
    }
  }
  if (messages.length === 0) messages.push(`tsc exited with status ${result.status}`)
  return messages
}

// ---------------------------------------------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------------------------------------------

const listPackages = () => {
  const args = process.argv.slice(2)
  if (args.length > 0) return args.map((a) => path.resolve(a))
  const packagesDir = path.join(root, "packages")
  return fs.readdirSync(packagesDir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && fs.existsSync(path.join(packagesDir, d.name, "package.json")))
    .map((d) => path.join(packagesDir, d.name))
    .sort()
}

const violations = []
const compileErrors = []
const notes = []
let exportCount = 0
let exampleCount = 0

for (const pkgDir of listPackages()) {
  const pkgName = rel(pkgDir)
  const srcDir = path.join(pkgDir, "src")
  const files = fs.existsSync(srcDir)
    ? fs.readdirSync(srcDir).filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts")).sort()
    : []
  const publicModules = files.filter((f) => f !== "index.ts")
  if (publicModules.length === 0) {
    notes.push(`note: ${pkgName}: no public modules in src/ yet; skipped`)
    fs.rmSync(path.join(pkgDir, EXAMPLES_DIR), { recursive: true, force: true })
    continue
  }
  const modules = files.map((f) => {
    const file = path.join(srcDir, f)
    return { file, ...checkModule(file) }
  })
  for (const m of modules) {
    violations.push(...m.violations)
    exportCount += m.exportCount
  }
  const { dir, map } = writeExamples(pkgDir, modules)
  if (map.size === 0) continue
  const buildDir = path.join(pkgDir, "build")
  const unbuilt = publicModules.filter((f) => !fs.existsSync(path.join(buildDir, f.replace(/\.ts$/, ".d.ts"))))
  if (!fs.existsSync(buildDir)) {
    notes.push(`note: ${pkgName}: build/ is missing; its ${map.size} examples were not type-checked (run tsc -b first)`)
    continue
  }
  if (unbuilt.length > 0) {
    notes.push(
      `note: ${pkgName}: build/ has no .d.ts for ${unbuilt.join(", ")}; its ${map.size} examples were not ` +
        `type-checked (run tsc -b first)`
    )
    continue
  }
  compileErrors.push(...typeCheck(dir, map))
  exampleCount += map.size
}

for (const note of notes) console.log(note)
for (const v of violations) console.error(v)
for (const e of compileErrors) console.error(e)
if (violations.length > 0 || compileErrors.length > 0) {
  console.error(
    `docs: ${violations.length} missing or malformed doc tags, ${compileErrors.length} example compiler messages`
  )
  process.exit(1)
}
console.log(`docs: ${exportCount} exports documented, ${exampleCount} examples type-checked`)
