/**
 * Redaction rules: which header values, URL parts and query parameters never reach an error, a log line or a span.
 *
 * Plain functions on strings, numbers and records: this module imports nothing from `effect`.
 *
 * @example
 * ```ts
 * import { Redaction } from "@effect-retry/engine"
 *
 * assert.strictEqual(
 *   Redaction.url("https://user:pw@api.example.com/items?token=abc&page=2"),
 *   "https://<redacted>@api.example.com/items?token=<redacted>&page=2"
 * )
 * assert.deepStrictEqual(Redaction.headers({ authorization: "Bearer abc", accept: "text/plain" }), {
 *   authorization: "<redacted>",
 *   accept: "text/plain"
 * })
 * ```
 *
 * @since 0.1.0
 * @category modules
 */

/**
 * Redacts the credential headers, the URL's user information and the secret query parameters, by the default rules or rules of your own.
 *
 * @example
 * ```ts
 * import { Redaction } from "@effect-retry/engine"
 *
 * assert.strictEqual(Redaction.REDACTED, "<redacted>")
 * ```
 *
 * @since 0.1.0
 * @category exports
 */
export * from "./internal/redact.js"
