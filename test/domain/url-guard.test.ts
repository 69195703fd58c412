import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { checkOutboundUrl } from "../../src/domain/url-guard";

const prod = { production: true };
const dev = { production: false };

describe("checkOutboundUrl", () => {
  it("accepts public https URLs everywhere", () => {
    for (const u of [
      "https://api.twilio.com",
      "https://api.telnyx.com/v2",
      "https://8.8.8.8:8443/x",
      "https://[2606:4700::1111]/",
    ]) {
      expect(checkOutboundUrl(u, prod), u).toBeNull();
      expect(checkOutboundUrl(u, dev), u).toBeNull();
    }
  });

  it("refuses http:// in production, even to public hosts", () => {
    expect(checkOutboundUrl("http://api.twilio.com", prod)).toMatch(/https/);
  });

  it("refuses loopback, private, link-local, unique-local and internal names in production", () => {
    for (const u of [
      "https://localhost",
      "https://api.localhost",
      "https://127.0.0.1",
      "https://127.1.2.3:8443",
      "https://10.0.0.5",
      "https://172.16.0.1",
      "https://172.31.255.255",
      "https://192.168.1.1",
      "https://169.254.169.254/latest/meta-data",
      "https://100.64.0.1",
      "https://0.0.0.0",
      "https://[::1]",
      "https://[::]",
      "https://[fd00::1]",
      "https://[fc00::1]",
      "https://[fe80::1]",
      "https://[::ffff:127.0.0.1]",
      "https://[::ffff:10.0.0.1]",
      "https://printer.local",
      "https://metadata.google.internal",
      "https://intranet",
      "https://2130706433", // 127.0.0.1 as one decimal number
      "https://0x7f.1",
    ]) {
      expect(checkOutboundUrl(u, prod), u).not.toBeNull();
    }
  });

  it("allows http:// to loopback in development only, and never to other hosts", () => {
    for (const u of ["http://localhost:8788", "http://127.0.0.1:8788/twilio", "http://[::1]:9000"]) {
      expect(checkOutboundUrl(u, dev), u).toBeNull();
      expect(checkOutboundUrl(u, prod), u).not.toBeNull();
    }
    expect(checkOutboundUrl("http://10.0.0.5", dev)).not.toBeNull();
    expect(checkOutboundUrl("http://example.com", dev)).not.toBeNull();
  });

  it("refuses other schemes, credentials in the URL and garbage", () => {
    expect(checkOutboundUrl("ftp://example.com", dev)).not.toBeNull();
    expect(checkOutboundUrl("file:///etc/passwd", dev)).not.toBeNull();
    expect(checkOutboundUrl("https://user:pw@example.com", prod)).toMatch(/credentials/);
    expect(checkOutboundUrl("not a url", prod)).toMatch(/valid/);
  });

  it("refuses every RFC 1918 address in production (property)", () => {
    const octet = fc.integer({ min: 0, max: 255 });
    fc.assert(
      fc.property(
        fc.oneof(
          fc.tuple(fc.constant(10), octet, octet, octet),
          fc.tuple(fc.constant(172), fc.integer({ min: 16, max: 31 }), octet, octet),
          fc.tuple(fc.constant(192), fc.constant(168), octet, octet),
          fc.tuple(fc.constant(127), octet, octet, octet),
        ),
        (ip) => checkOutboundUrl(`https://${ip.join(".")}/`, prod) !== null,
      ),
    );
  });

  it("accepts public IPv4 addresses in production (property)", () => {
    fc.assert(
      fc.property(
        fc.tuple(
          fc.integer({ min: 1, max: 223 }),
          fc.integer({ min: 0, max: 255 }),
          fc.integer({ min: 0, max: 255 }),
          fc.integer({ min: 1, max: 254 }),
        ),
        (ip) => {
          const [a, b] = ip;
          fc.pre(
            ![0, 10, 100, 127, 169, 172, 192, 198, 203].includes(a) || (a === 172 && (b < 16 || b > 31)),
          );
          return checkOutboundUrl(`https://${ip.join(".")}/`, prod) === null;
        },
      ),
    );
  });
});
