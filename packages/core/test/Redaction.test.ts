import { Redaction } from "@effect-retry/core"
import { describe, expect, it } from "@effect/vitest"
import * as fc from "fast-check"

describe("Redaction.url", () => {
  it("redacts the userinfo and the values of secret query parameters, and keeps the rest as it was", () => {
    expect(Redaction.url("http://user:SECRET@host/x?token=SECRET&page=2")).toBe(
      "http://<redacted>@host/x?token=<redacted>&page=2"
    )
    expect(Redaction.url("https://api.test/a?Access_Token=t1&q=hello&API_KEY=k&sig=s#frag")).toBe(
      "https://api.test/a?Access_Token=<redacted>&q=hello&API_KEY=<redacted>&sig=<redacted>#frag"
    )
    expect(Redaction.url("/relative?password=p&x=1")).toBe("/relative?password=<redacted>&x=1")
    expect(Redaction.url("https://api.test/items")).toBe("https://api.test/items")
    expect(Redaction.url("https://api.test/a?flag&token")).toBe("https://api.test/a?flag&token")
  })

  it("redacts every signing parameter of an AWS pre-signed URL, whatever its case, and keeps the others", () => {
    const signed = "https://b.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIA%2F20240101" +
      "&X-Amz-Date=20240101T000000Z&X-Amz-Expires=900&X-Amz-Security-Token=FQoG&X-Amz-SignedHeaders=host" +
      "&x-amz-signature=abcdef"
    expect(Redaction.url(signed)).toBe(
      "https://b.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=<redacted>" +
        "&X-Amz-Date=20240101T000000Z&X-Amz-Expires=900&X-Amz-Security-Token=<redacted>&X-Amz-SignedHeaders=host" +
        "&x-amz-signature=<redacted>"
    )
  })

  it("reads percent-encoded parameter names, and redacts fragment parameters (an OAuth implicit grant)", () => {
    expect(Redaction.url("https://api.test/a?%74oken=t")).toBe("https://api.test/a?%74oken=<redacted>")
    expect(Redaction.url("https://app.test/cb#access_token=t&state=s")).toBe(
      "https://app.test/cb#access_token=<redacted>&state=s"
    )
  })

  it("adds the query parameters given to make, in any case", () => {
    const rules = Redaction.make({ queryParams: ["Session_ID"] })
    expect(Redaction.url("https://api.test/a?session_id=s&token=t&page=1", rules)).toBe(
      "https://api.test/a?session_id=<redacted>&token=<redacted>&page=1"
    )
  })

  it.prop("never keeps a secret value placed in the userinfo or a secret parameter", [
    fc.stringMatching(/^[A-Za-z0-9]{8,16}$/),
    fc.constantFrom(...Redaction.defaultQueryParams),
    fc.boolean()
  ], ([secret, param, upper]) => {
    const name = upper ? param.toUpperCase() : param
    const out = Redaction.url(`https://u:${secret}@api.test/p?a=1&${name}=${secret}#x`)
    expect(out.includes(secret)).toBe(false)
    expect(Redaction.url(out)).toBe(out)
  })
})

describe("Redaction.headers", () => {
  it("redacts credential headers and the URLs of Location, Content-Location, Link and Refresh", () => {
    expect(
      Redaction.headers({
        "Set-Cookie": ["a=1", "b=2"],
        "X-Amz-Security-Token": "FQoG",
        location: "https://u:p@cdn.test/f?X-Amz-Signature=abc&v=1",
        "content-location": "/f?token=t",
        link: "<https://api.test/p?page=2&access_token=t>; rel=\"next\", <https://api.test/p?page=9>; rel=\"last\"",
        refresh: "5; url=https://api.test/x?sig=s",
        "x-request-id": "r1"
      })
    ).toStrictEqual({
      "set-cookie": "<redacted>",
      "x-amz-security-token": "<redacted>",
      location: "https://<redacted>@cdn.test/f?X-Amz-Signature=<redacted>&v=1",
      "content-location": "/f?token=<redacted>",
      link:
        "<https://api.test/p?page=2&access_token=<redacted>>; rel=\"next\", <https://api.test/p?page=9>; rel=\"last\"",
      refresh: "5; url=https://api.test/x?sig=<redacted>",
      "x-request-id": "r1"
    })
  })

  it("adds header names in any case and patterns given to make", () => {
    const rules = Redaction.make({ headers: ["X-Session", /^x-secret-/] })
    expect(Redaction.headers({ "x-session": "s", "x-secret-a": "a", "x-public": "p" }, rules)).toStrictEqual({
      "x-session": "<redacted>",
      "x-secret-a": "<redacted>",
      "x-public": "p"
    })
    // A global pattern keeps no state from one header to the next.
    const global = Redaction.make({ headers: [/^x-g/g] })
    expect(Redaction.headers({ "x-g1": "1", "x-g2": "2" }, global)).toStrictEqual({
      "x-g1": "<redacted>",
      "x-g2": "<redacted>"
    })
  })
})
