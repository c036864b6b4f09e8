/**
 * The documentation rules `@effect/docgen` leaves out, as an ESLint rule for the public modules
 * (`packages/<pkg>/src/*.ts`):
 *
 * - the first paragraph of every JSDoc (the module's and each export's) is a sentence: it starts with a capital
 *   letter, a digit or a quote and ends with ".", "!", "?" or ":";
 * - every export has `@since` and, outside the re-exports of `index.ts`, `@category` and an `@example` holding a
 *   closed ```ts block.
 *
 * docgen checks the rest: a description and `@since` on every export and module, an `@example` on every export of
 * the modules it reads, and it type-checks and runs the examples. `index.ts` is not read by docgen (its re-exports
 * carry no example), so this rule also requires its JSDoc. Declarations tagged `@internal` or `@ignore` are skipped,
 * and so are the overload signatures after the first one.
 */

const SENTENCE_START = /^[A-Z0-9`"'([]/
const SENTENCE_END = /[.!?:]["'`)\]]*$/
const VERSION = /^\d+\.\d+\.\d+/

/** Splits a JSDoc comment's text into its first paragraph, its tags and its fenced blocks per tag. */
const parse = (text) => {
  const lines = text.split("\n").map((line) => line.replace(/^\s*\*(?!\/) ?/, ""))
  const description = []
  const tags = []
  let fence = false
  for (const line of lines) {
    const trimmed = line.trim()
    const tag = fence ? null : /^@(\w+)\s*(.*)$/.exec(trimmed)
    if (tag) {
      tags.push({ name: tag[1], value: tag[2].trim(), body: [] })
      continue
    }
    if (trimmed.startsWith("```")) fence = !fence
    if (tags.length > 0) tags[tags.length - 1].body.push(trimmed)
    else description.push(trimmed)
  }
  while (description.length > 0 && description[0] === "") description.shift()
  const blank = description.indexOf("")
  const sentence = (blank < 0 ? description : description.slice(0, blank)).join(" ").trim()
  return { sentence, tags }
}

/** The ```ts blocks of an `@example`: whether it has one, and whether every fence it opens is closed. */
const fences = (tag) => {
  let open = false
  let ts = false
  for (const line of tag.body) {
    if (!line.startsWith("```")) continue
    if (!open && /^```\s*(ts|typescript)\b/.test(line)) ts = true
    open = !open
  }
  return { ts, closed: !open }
}

const nameOf = (node) => {
  if (node.type === "ExportAllDeclaration") return node.exported ? node.exported.name : `* from ${node.source.value}`
  if (node.type === "ExportDefaultDeclaration") return "default"
  const declaration = node.declaration
  if (declaration === null) return `{ ${node.specifiers.map((s) => s.exported.name).join(", ")} }`
  if (declaration.type === "VariableDeclaration") {
    return declaration.declarations.map((d) => d.id.name ?? "{...}").join(", ")
  }
  return declaration.id?.name ?? declaration.type
}

const isFunctionSignature = (node) =>
  node.type === "ExportNamedDeclaration" && node.declaration !== null &&
  (node.declaration.type === "TSDeclareFunction" || node.declaration.type === "FunctionDeclaration")

const jsdoc = {
  meta: {
    type: "problem",
    docs: { description: "Every public export has a JSDoc sentence, @since, @category and a ```ts @example." },
    schema: []
  },
  create(context) {
    const source = context.sourceCode
    const isIndex = /(^|[\\/])index\.ts$/.test(context.filename)
    const checkSentence = (node, sentence, name) => {
      if (sentence === "") context.report({ node, message: `${name}: the JSDoc has no first sentence.` })
      else if (!SENTENCE_START.test(sentence) || !SENTENCE_END.test(sentence)) {
        context.report({
          node,
          message: `${name}: the first sentence should start with a capital letter and end with ".", "!", "?" or ":".`
        })
      }
    }
    const checkTag = (node, doc, tagName, pattern, name) => {
      const tag = doc.tags.find((t) => t.name === tagName)
      if (tag === undefined) context.report({ node, message: `${name}: missing @${tagName}.` })
      else if (!pattern.test(tag.value)) {
        context.report({ node, message: `${name}: @${tagName} has no valid value (got "${tag.value}").` })
      }
    }
    return {
      Program(program) {
        const first = source.getAllComments()[0]
        const firstExport = program.body[0]
        const attached = firstExport && source.getCommentsBefore(firstExport).at(-1)
        const moduleDoc = first?.type === "Block" && first.value.startsWith("*") &&
            !(first === attached && firstExport.type.startsWith("Export"))
          ? first
          : undefined
        if (moduleDoc === undefined) {
          context.report({ node: program, message: "The module has no JSDoc (a first sentence and @since)." })
        } else {
          const doc = parse(moduleDoc.value.slice(1))
          checkSentence(moduleDoc, doc.sentence, "The module")
          checkTag(moduleDoc, doc, "since", VERSION, "The module")
        }
        let previous
        for (const node of program.body) {
          if (!node.type.startsWith("Export")) continue
          const name = nameOf(node)
          const overload = isFunctionSignature(node) && previous === name
          previous = isFunctionSignature(node) ? name : undefined
          if (overload || (node.type === "ExportNamedDeclaration" && node.declaration === null && name === "{  }")) {
            continue
          }
          // A re-export (`export { X } from`) carries its JSDoc on its one specifier, where docgen reads it.
          const reexported = node.type === "ExportNamedDeclaration" && node.declaration === null &&
            node.specifiers.length === 1
          const comment = source.getCommentsBefore(reexported ? node.specifiers[0] : node).at(-1) ??
            (reexported ? source.getCommentsBefore(node).at(-1) : undefined)
          if (
            comment === undefined || comment === moduleDoc || comment.type !== "Block" || !comment.value.startsWith("*")
          ) {
            context.report({ node, message: `${name}: missing JSDoc.` })
            continue
          }
          const doc = parse(comment.value.slice(1))
          if (doc.tags.some((t) => t.name === "internal" || t.name === "ignore")) continue
          checkSentence(node, doc.sentence, name)
          checkTag(node, doc, "since", VERSION, name)
          if (isIndex && node.type === "ExportAllDeclaration") continue
          checkTag(node, doc, "category", /\S/, name)
          const examples = doc.tags.filter((t) => t.name === "example")
          if (examples.length === 0) context.report({ node, message: `${name}: missing @example.` })
          for (const example of examples) {
            const { closed, ts } = fences(example)
            if (!ts) context.report({ node, message: `${name}: an @example has no fenced \`\`\`ts block.` })
            if (!closed) context.report({ node, message: `${name}: an @example has an unclosed \`\`\` block.` })
          }
        }
      }
    }
  }
}

export default { rules: { jsdoc } }
