/**
 * Redaction rules: which header values, URL parts and query parameters never reach an error, a log line or a span.
 * Plain functions on strings and records, with no dependency: the status errors and the retrying client share them.
 */

/** What replaces a secret. */
export const REDACTED = "<redacted>"

/**
 * Header names whose values are always redacted: credentials a request carries, and the ones a response hands out.
 */
export const DEFAULT_HEADERS: ReadonlyArray<string> = [
  "authorization",
  "proxy-authorization",
  "cookie",
  "set-cookie",
  "set-cookie2",
  "x-api-key",
  "api-key",
  "x-auth-token",
  "x-access-token",
  "x-refresh-token",
  "x-session-token",
  "x-csrf-token",
  "x-xsrf-token",
  "x-amz-security-token",
  "x-goog-api-key",
  "x-vault-token",
  "private-token"
]

/**
 * Query parameter names whose values are always redacted (compared in lower case): bearer and OAuth tokens, API
 * keys, passwords, and the signing parameters of pre-signed URLs (AWS SigV4 and SigV2, Google Cloud Storage, Azure
 * SAS).
 */
export const DEFAULT_QUERY_PARAMS: ReadonlyArray<string> = [
  "token",
  "access_token",
  "refresh_token",
  "id_token",
  "sig",
  "signature",
  "key",
  "api_key",
  "apikey",
  "api-key",
  "password",
  "passwd",
  "secret",
  "client_secret",
  "auth",
  "x-amz-signature",
  "x-amz-credential",
  "x-amz-security-token",
  "awsaccesskeyid",
  "x-goog-signature",
  "x-goog-credential"
]

/** Response headers whose value is (or holds) a URL: their userinfo and secret query values are redacted too. */
const URL_HEADERS: ReadonlySet<string> = new Set(["location", "content-location", "link", "refresh"])

/** A header name to redact: a name in any case, or a pattern tested against the lower-case name. */
export type HeaderName = string | RegExp

/** A compiled set of rules. */
export interface Redactor {
  /** Whether a header's value is redacted; `name` in lower case. */
  readonly isSecretHeader: (name: string) => boolean
  /** Whether a query parameter's value is redacted; `name` in lower case. */
  readonly isSecretParam: (name: string) => boolean
}

const compileNames = (base: ReadonlyArray<string>, extra: ReadonlyArray<HeaderName> | undefined) => {
  const names = new Set(base)
  const patterns: Array<RegExp> = []
  if (extra !== undefined) {
    for (const name of extra) {
      if (typeof name === "string") names.add(name.toLowerCase())
      else patterns.push(name)
    }
  }
  return patterns.length === 0
    ? (name: string) => names.has(name)
    : (name: string) => names.has(name) || patterns.some((pattern) => matches(pattern, name))
}

/** Tests a pattern without the state a global or sticky pattern carries between calls. */
const matches = (pattern: RegExp, name: string): boolean => {
  pattern.lastIndex = 0
  return pattern.test(name)
}

/** The rules: the default lists, plus the header names and query parameters given. */
export const make = (
  headers?: ReadonlyArray<HeaderName>,
  queryParams?: ReadonlyArray<string>
): Redactor => ({
  isSecretHeader: compileNames(DEFAULT_HEADERS, headers),
  isSecretParam: compileNames(DEFAULT_QUERY_PARAMS, queryParams)
})

/** The default rules. */
export const defaults: Redactor = make()

const safeDecode = (s: string): string => {
  try {
    return decodeURIComponent(s.replace(/\+/g, " "))
  } catch {
    return s
  }
}

/** Redacts the values of secret parameters in `a=1&b=2` (a query or a fragment), keeping the rest as it was. */
const redactParams = (params: string, rules: Redactor): string => {
  let changed = false
  const parts = params.split("&")
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!
    const eq = part.indexOf("=")
    if (eq < 0) continue
    if (rules.isSecretParam(safeDecode(part.slice(0, eq)).trim().toLowerCase())) {
      parts[i] = `${part.slice(0, eq)}=${REDACTED}`
      changed = true
    }
  }
  return changed ? parts.join("&") : params
}

const SCHEME_AND_USERINFO = /^(\s*[a-z][a-z0-9+.-]*:\/\/)[^/?#]*@/i

/**
 * Redacts a URL for display: its `user:password@` always, and the values of secret query (and fragment) parameters,
 * keeping everything else as it was. Relative URLs are redacted the same way.
 */
export const url = (input: string, rules: Redactor = defaults): string => {
  // The userinfo ends at the last "@" before the path, query or fragment, as URL parsers read it.
  let out = input.replace(SCHEME_AND_USERINFO, `$1${REDACTED}@`)
  const hash = out.indexOf("#")
  const query = out.indexOf("?")
  if (query >= 0 && (hash < 0 || query < hash)) {
    const end = hash < 0 ? out.length : hash
    out = out.slice(0, query + 1) + redactParams(out.slice(query + 1, end), rules) + out.slice(end)
  }
  const fragment = out.indexOf("#")
  if (fragment >= 0) out = out.slice(0, fragment + 1) + redactParams(out.slice(fragment + 1), rules)
  return out
}

/** An absolute URL in free text: a scheme, "://", and what follows up to a space, a quote or an angle bracket. */
const URL_IN_TEXT = /\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>`]+/gi

/**
 * Redacts every absolute URL a text holds (an error's message or description, a stack), and the given `urls`
 * (relative ones too): their `user:password@` and the values of their secret query parameters, as `url` does; the
 * rest of the text is kept as it was.
 */
export const text = (input: string, rules: Redactor = defaults, urls: ReadonlyArray<string> = []): string => {
  // The request's own URLs first (a relative one, or one the pattern would cut short), then every absolute URL.
  let out = input
  for (const raw of urls) if (raw !== "") out = out.split(raw).join(url(raw, rules))
  return out.replace(URL_IN_TEXT, (found) => url(found, rules))
}

/**
 * The cause of an error of an HTTP client, its URLs redacted (`urls`, the request's own, and every absolute URL in
 * it): `fetch` says "Request cannot be constructed from a URL that includes credentials: <the URL>", and a printed
 * cause would show it. An `Error` whose message, stack or causes (a few deep) hold a URL is copied with them
 * redacted; a string is redacted; anything else is kept as it is.
 */
export const cause = (input: unknown, rules: Redactor = defaults, urls: ReadonlyArray<string> = []): unknown =>
  redactCause(input, rules, urls, 0)

const redactCause = (input: unknown, rules: Redactor, urls: ReadonlyArray<string>, depth: number): unknown => {
  if (typeof input === "string") return text(input, rules, urls)
  if (!(input instanceof Error) || depth > 4) return input
  const message = text(input.message, rules, urls)
  const inner = redactCause(input.cause, rules, urls, depth + 1)
  const stack = input.stack === undefined ? undefined : text(input.stack, rules, urls)
  if (message === input.message && inner === input.cause && stack === input.stack) return input
  const copy = new Error(message, inner === undefined ? undefined : { cause: inner })
  copy.name = input.name
  if (stack !== undefined) copy.stack = stack
  return copy
}

/** Redacts the URLs a header value holds: the whole value of Location, each `<...>` of Link, the `url=` of Refresh. */
const urlHeader = (name: string, value: string, rules: Redactor): string => {
  switch (name) {
    case "link":
      return value.replace(/<([^>]*)>/g, (_, target: string) => `<${url(target, rules)}>`)
    case "refresh":
      return value.replace(/(url\s*=\s*['"]?)([^'"]*)/i, (_, lead: string, target: string) => lead + url(target, rules))
    default:
      return url(value, rules)
  }
}

/** A header record as clients hand them over: values may be lists (Set-Cookie) or absent. */
export type HeaderInput = Readonly<Record<string, string | ReadonlyArray<string> | undefined>>

/**
 * A copy of headers for display: lower-case names, lists joined with ", ", secret values replaced by `<redacted>`,
 * and the URLs of Location, Content-Location, Link and Refresh redacted.
 */
export const headers = (input: HeaderInput, rules: Redactor = defaults): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const key of Object.keys(input)) {
    const value = input[key]
    if (value === undefined) continue
    const name = key.toLowerCase()
    const text = typeof value === "string" ? value : value.join(", ")
    out[name] = rules.isSecretHeader(name) ? REDACTED : URL_HEADERS.has(name) ? urlHeader(name, text, rules) : text
  }
  return out
}
