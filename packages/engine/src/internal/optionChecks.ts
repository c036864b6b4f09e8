/**
 * A whole number of at least `min` (the `fallback` when absent), or NaN with a problem saying what was wrong, `show`
 * writing the value as the calling line writes values.
 */
export const wholeNumber = (
  problems: Array<string>,
  name: string,
  value: unknown,
  fallback: number,
  min: number,
  show: (u: unknown) => string
): number => {
  const n = value === undefined ? fallback : value
  if (typeof n !== "number" || !Number.isInteger(n) || n < min) {
    problems.push(`${name} must be a whole number of at least ${min}, got ${show(n)}`)
    return NaN
  }
  return n
}

/** A number from `min` to `max` (the `fallback` when absent), or NaN with a problem saying what was wrong. */
export const numberBetween = (
  problems: Array<string>,
  name: string,
  value: unknown,
  fallback: number,
  min: number,
  max: number,
  show: (u: unknown) => string
): number => {
  const n = value === undefined ? fallback : value
  if (typeof n !== "number" || !(n >= min && n <= max)) {
    problems.push(`${name} must be a number from ${min} to ${max}, got ${show(n)}`)
    return NaN
  }
  return n
}
