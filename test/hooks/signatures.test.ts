import fc from "fast-check";
import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import {
  generateStandardSecret,
  signShopify,
  signStandard,
  verifyShopify,
  verifyStandard,
} from "../../src/domain/signatures";
import { utf8 } from "../../src/lib/crypto";

const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

describe("Shopify HMAC", () => {
  // Reference value from Node's crypto: createHmac("sha256", "hush").update(body).digest("base64").
  it("matches Shopify's documented construction (base64 HMAC-SHA256 of the raw body)", async () => {
    const body = '{"id":1,"name":"#1001"}';
    const sig = await signShopify("hush", body);
    expect(sig).toBe("ybi5GMyq3UlgsyWLTJU1wvBRjL3uJyvuWTBki5k2cJY=");
    expect(await verifyShopify("hush", utf8(body), sig)).toBe(true);
  });

  it("rejects a tampered body, a wrong secret and a missing header", async () => {
    const body = utf8('{"id":1}');
    const sig = await signShopify("hush", body);
    expect(await verifyShopify("hush", utf8('{"id":2}'), sig)).toBe(false);
    expect(await verifyShopify("other", body, sig)).toBe(false);
    expect(await verifyShopify("hush", body, null)).toBe(false);
    expect(await verifyShopify("hush", body, "")).toBe(false);
  });

  it("any single-byte change of the body breaks the signature (property)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 64 }), fc.nat(), async (bytes, at) => {
        const body = new Uint8Array(bytes);
        const sig = await signShopify("k", body);
        const changed = new Uint8Array(body);
        const i = at % changed.length;
        changed[i] = (changed[i] ?? 0) ^ 1;
        expect(await verifyShopify("k", changed, sig)).toBe(false);
        expect(await verifyShopify("k", body, sig)).toBe(true);
      }),
      { numRuns: 50 },
    );
  });
});

describe("Standard Webhooks", () => {
  const now = 1_790_000_000_000;
  const ts = String(now / 1000);

  it("interoperates with the standardwebhooks package both ways", async () => {
    const wh = new Webhook(SECRET);
    const body = '{"name":"order.delayed","contact":{"phone":"+12125550142"}}';
    const theirs = wh.sign("msg_1", new Date(now), body);
    expect(
      await verifyStandard(SECRET, utf8(body), { id: "msg_1", timestamp: ts, signature: theirs }, now),
    ).toEqual({
      ok: true,
      id: "msg_1",
      timestamp: now / 1000,
    });
    const ours = await signStandard(SECRET, "msg_2", now / 1000, body);
    expect(ours).toBe(wh.sign("msg_2", new Date(now), body));
  });

  it("accepts any one of several space-separated signatures", async () => {
    const body = utf8("{}");
    const good = await signStandard(SECRET, "m", now / 1000, body);
    const other = await signStandard(generateStandardSecret(), "m", now / 1000, body);
    const res = await verifyStandard(
      SECRET,
      body,
      { id: "m", timestamp: ts, signature: `${other} ${good}` },
      now,
    );
    expect(res.ok).toBe(true);
  });

  it("rejects tampered bodies, wrong secrets, other ids and missing headers", async () => {
    const body = utf8('{"a":1}');
    const sig = await signStandard(SECRET, "m", now / 1000, body);
    const check = (b: Uint8Array<ArrayBuffer>, h: Record<string, string | null>, secret = SECRET) =>
      verifyStandard(secret, b, { id: "m", timestamp: ts, signature: sig, ...h }, now);
    expect(await check(utf8('{"a":2}'), {})).toEqual({ ok: false, reason: "bad_signature" });
    expect(await check(body, {}, generateStandardSecret())).toEqual({ ok: false, reason: "bad_signature" });
    expect(await check(body, { id: "n" })).toEqual({ ok: false, reason: "bad_signature" });
    expect(await check(body, { signature: sig.replace("v1,", "v2,") })).toEqual({
      ok: false,
      reason: "bad_signature",
    });
    expect(await check(body, { id: null })).toEqual({ ok: false, reason: "missing_headers" });
    expect(await check(body, { timestamp: null })).toEqual({ ok: false, reason: "missing_headers" });
    expect(await check(body, { signature: null })).toEqual({ ok: false, reason: "missing_headers" });
    expect(await check(body, { timestamp: "soon" })).toEqual({ ok: false, reason: "bad_timestamp" });
  });

  it("tolerates five minutes of clock skew either way, and no more", async () => {
    const body = utf8("{}");
    for (const [skew, ok] of [
      [-300, true],
      [300, true],
      [-301, false],
      [301, false],
    ] as const) {
      const t = now / 1000 + skew;
      const sig = await signStandard(SECRET, "m", t, body);
      const res = await verifyStandard(SECRET, body, { id: "m", timestamp: String(t), signature: sig }, now);
      expect(res.ok, `skew ${skew}s`).toBe(ok);
      if (!ok) expect(res).toEqual({ ok: false, reason: "stale" });
    }
  });

  it("generated secrets are whsec_ + base64 of 24 bytes and usable by the package", () => {
    const s = generateStandardSecret();
    expect(s).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
    expect(() => new Webhook(s)).not.toThrow();
  });
});
