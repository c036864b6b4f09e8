/** The idempotent methods of RFC 9110 section 9.2.2: they may be sent again once a request has left. */
export const IDEMPOTENT_METHODS: ReadonlyArray<string> = ["GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"]

/** The methods an `Idempotency-Key` header makes safe to send again. */
export const KEYED_METHODS: ReadonlySet<string> = new Set(["POST", "PATCH"])

/** The header that makes a POST or PATCH safe to send again (lower case). */
export const IDEMPOTENCY_KEY = "idempotency-key"

/** Error codes that prove the request never left: nothing reached the server, so any method may be retried. */
export const NEVER_SENT_CODES: ReadonlySet<string> = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ENETUNREACH",
  "EHOSTUNREACH",
  "UND_ERR_CONNECT_TIMEOUT"
])

/** Whether a failure's cause (or one of the causes it wraps, five deep) has a code that proves nothing was sent. */
export const neverSent = (cause: unknown): boolean => {
  for (let depth = 0; depth < 5 && typeof cause === "object" && cause !== null; depth++) {
    const code = (cause as { code?: unknown }).code
    if (typeof code === "string" && NEVER_SENT_CODES.has(code)) return true
    cause = (cause as { cause?: unknown }).cause
  }
  return false
}

/** Whether a request carries an `Idempotency-Key` that makes its method safe to send again. */
export const isKeyed = (method: string, headers: Readonly<Record<string, string | undefined>>): boolean =>
  headers[IDEMPOTENCY_KEY] !== undefined && KEYED_METHODS.has(method)

/**
 * Whether a request may be sent again after it left: its body can be sent twice (not a stream), and its method is
 * one of `methods` or is made safe by an `Idempotency-Key`.
 */
export const resendable = (method: string, keyed: boolean, methods: ReadonlySet<string>, streamed: boolean): boolean =>
  !streamed && (keyed || methods.has(method))
