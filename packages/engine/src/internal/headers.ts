/**
 * Response headers as this package reads them: lower-case names, as `@effect/platform` and `Headers` give them.
 * @internal
 */
export type HeaderRecord = Readonly<Record<string, string | ReadonlyArray<string> | undefined>>

/** @internal */
export const get = (headers: HeaderRecord, name: string): string | undefined => {
  const value = headers[name]
  if (value === undefined) return undefined
  return typeof value === "string" ? value : value.join(", ")
}

const DECIMAL = /^\d+(?:\.\d+)?$/

/**
 * A non-negative, finite decimal number, or NaN.
 * @internal
 */
export const decimal = (value: string | undefined): number => {
  if (value === undefined) return NaN
  const trimmed = value.trim()
  if (!DECIMAL.test(trimmed)) return NaN
  const n = Number(trimmed)
  return Number.isFinite(n) ? n : NaN
}
