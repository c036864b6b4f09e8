import { describe, expect, it } from "vitest"
import * as Redaction from "../src/Redaction.js"

describe("Redaction", () => {
  it("redacts the userinfo and the secret query parameters of a URL", () => {
    expect(Redaction.url("https://user:pw@api.example.com/items?access_token=abc&page=2#sig=x")).toBe(
      "https://<redacted>@api.example.com/items?access_token=<redacted>&page=2#sig=<redacted>"
    )
  })

  it("redacts the credential headers and the names given", () => {
    const rules = Redaction.make(["x-tenant", /^x-secret-/], ["session"])
    expect(
      Redaction.headers({ authorization: "Bearer a", "x-tenant": "t", "x-secret-one": "s", accept: "*/*" }, rules)
    ).toEqual({ authorization: "<redacted>", "x-tenant": "<redacted>", "x-secret-one": "<redacted>", accept: "*/*" })
    expect(Redaction.url("/a?session=1&page=2", rules)).toBe("/a?session=<redacted>&page=2")
  })

  it("redacts every absolute URL in a text, and leaves the rest of it as it was", () => {
    const rules = Redaction.make([], ["session"])
    expect(
      Redaction.text(
        "Request cannot be constructed from a URL that includes credentials: http://u:pw@h.test/x?token=t&page=2 " +
          "(then \"https://h.test/y?session=s\")",
        rules
      )
    ).toBe(
      "Request cannot be constructed from a URL that includes credentials: http://<redacted>@h.test/x?token=<redacted>&page=2 " +
        "(then \"https://h.test/y?session=<redacted>\")"
    )
    expect(Redaction.text("no URL here: /items?token=t")).toBe("no URL here: /items?token=t")
  })
})
