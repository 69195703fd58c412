import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { checkOutboundUrl, classifyHost } from "../../src/domain/url-guard";

const prod = { production: true };
const dev = { production: false };

/** Public hosts: allowed in production and in development. */
const PUBLIC_HTTPS = [
  "https://api.twilio.com",
  "https://api.telnyx.com/v2",
  "https://twilio-proxy.example.com:8443/base",
  "https://8.8.8.8:8443/x",
  "https://134744072/", // 8.8.8.8 as one decimal number
  "https://0x8.0x8.0x8.0x8/", // 8.8.8.8 in hex
  "https://010.010.010.010/", // 8.8.8.8 in octal
  "https://[2606:4700::1111]/",
  "https://[2001:4860:4860::8888]/",
  "https://[::ffff:8.8.8.8]/", // IPv4-mapped public address
  "https://[64:ff9b::808:808]/", // NAT64 of 8.8.8.8
  "https://[2002:808:808::1]/", // 6to4 of 8.8.8.8
  "https://[2001:0:4136:e378:8000:63bf:f7f7:f7f7]/", // Teredo: server 65.54.227.120, client 8.8.8.8
];

/** [url, what it is]: refused in production (https, so only the host decides). */
const NON_PUBLIC_HTTPS: [string, string][] = [
  // IPv4 loopback in every notation the WHATWG URL parser reads
  ["https://127.0.0.1", "loopback"],
  ["https://127.1.2.3:8443", "loopback /8"],
  ["https://2130706433", "127.0.0.1 as one decimal number"],
  ["https://0177.0.0.1", "127.0.0.1, octal first octet"],
  ["https://0x7f.1", "127.0.0.1, hex + short form"],
  ["https://127.1", "127.0.0.1, short form"],
  ["https://0x7f000001", "127.0.0.1 as one hex number"],
  ["https://017700000001", "127.0.0.1 as one octal number"],
  ["https://0x7f.0.0.1", "127.0.0.1, hex octet"],
  ["https://127.0.0.1.", "trailing dot"],
  ["https://0", "0.0.0.0 as one number"],
  ["https://0.0.0.0", "unspecified"],
  // IPv4 private, shared, link-local, reserved, multicast, broadcast
  ["https://10.0.0.5", "RFC 1918"],
  ["https://10.1", "10.0.0.1, short form"],
  ["https://0xa000001", "10.0.0.1 as one hex number"],
  ["https://172.16.0.1", "RFC 1918"],
  ["https://172.31.255.255", "RFC 1918"],
  ["https://192.168.1.1", "RFC 1918"],
  ["https://3232235777", "192.168.1.1 as one decimal number"],
  ["https://0300.0250.1.1", "192.168.1.1 in octal"],
  ["https://169.254.169.254/latest/meta-data", "link-local (cloud metadata)"],
  ["https://0xa9fea9fe", "169.254.169.254 as one hex number"],
  ["https://100.64.0.1", "carrier-grade NAT"],
  ["https://192.0.0.1", "IETF protocol assignments"],
  ["https://192.0.2.1", "documentation"],
  ["https://198.18.0.1", "benchmarking"],
  ["https://198.51.100.7", "documentation"],
  ["https://203.0.113.9", "documentation"],
  ["https://192.88.99.1", "6to4 relay anycast"],
  ["https://224.0.0.1", "multicast"],
  ["https://239.255.255.250", "multicast (SSDP)"],
  ["https://240.0.0.1", "reserved"],
  ["https://255.255.255.255", "broadcast"],
  // IPv6 loopback, unspecified, IPv4-compatible
  ["https://[::1]", "loopback"],
  ["https://[0:0:0:0:0:0:0:1]", "loopback, long form"],
  ["https://[::]", "unspecified"],
  ["https://[::7f00:1]", "IPv4-compatible 127.0.0.1"],
  ["https://[::127.0.0.1]", "IPv4-compatible 127.0.0.1, dotted"],
  ["https://[::8.8.8.8]", "IPv4-compatible (deprecated) even of a public address"],
  ["https://[::a00:1]", "IPv4-compatible 10.0.0.1"],
  // IPv4-mapped and -translated
  ["https://[::ffff:127.0.0.1]", "IPv4-mapped loopback"],
  ["https://[::ffff:7f00:1]", "IPv4-mapped loopback, hex"],
  ["https://[::ffff:10.0.0.1]", "IPv4-mapped private"],
  ["https://[::ffff:169.254.169.254]", "IPv4-mapped metadata"],
  ["https://[::ffff:0.0.0.0]", "IPv4-mapped unspecified"],
  ["https://[::ffff:0:127.0.0.1]", "IPv4-translated loopback (RFC 6145)"],
  // 6to4, NAT64, Teredo embedding a non-public IPv4
  ["https://[2002:7f00:1::]", "6to4 of 127.0.0.1"],
  ["https://[2002:a00:1::1]", "6to4 of 10.0.0.1"],
  ["https://[2002:c0a8:101::1]", "6to4 of 192.168.1.1"],
  ["https://[2002:a9fe:a9fe::]", "6to4 of 169.254.169.254"],
  ["https://[64:ff9b::7f00:1]", "NAT64 of 127.0.0.1"],
  ["https://[64:ff9b::127.0.0.1]", "NAT64 of 127.0.0.1, dotted"],
  ["https://[64:ff9b::a9fe:a9fe]", "NAT64 of 169.254.169.254"],
  ["https://[64:ff9b:1::808:808]", "local-use NAT64 (RFC 8215)"],
  ["https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]", "Teredo, client 192.0.2.45"],
  ["https://[2001:0:7f00:1:8000:63bf:f7f7:f7f7]", "Teredo, server 127.0.0.1"],
  ["https://[2001:0:4136:e378:8000:63bf:80ff:fffe]", "Teredo, client 127.0.0.1"],
  // IPv6 private and special ranges
  ["https://[fd00::1]", "unique local"],
  ["https://[fc00::1]", "unique local"],
  ["https://[fdff:ffff:ffff::1]", "unique local"],
  ["https://[fe80::1]", "link-local"],
  ["https://[febf:ffff::1]", "link-local, top of range"],
  ["https://[fec0::1]", "site-local (deprecated)"],
  ["https://[ff02::1]", "multicast"],
  ["https://[ff05::1:3]", "multicast"],
  ["https://[2001:db8::1]", "documentation"],
  ["https://[3fff::1]", "documentation (RFC 9637)"],
  ["https://[2001:2::1]", "benchmarking"],
  ["https://[100::1]", "discard"],
  ["https://[2001:20::1]", "ORCHIDv2"],
  ["https://[4000::1]", "outside global unicast"],
  ["https://[5f00::1]", "segment routing"],
  // Names
  ["https://localhost", "localhost"],
  ["https://LOCALHOST:8443", "localhost, upper case"],
  ["https://localhost.", "localhost, trailing dot"],
  ["https://api.localhost", "*.localhost"],
  ["https://a.b.localhost", "*.localhost"],
  ["https://printer.local", "mDNS"],
  ["https://metadata.google.internal", "internal"],
  ["https://router.home.arpa", "home network"],
  ["https://nas.localdomain", "localdomain"],
  ["https://intranet", "single-label name"],
];

describe("checkOutboundUrl", () => {
  it.each(PUBLIC_HTTPS)("accepts %s in production and development", (url) => {
    expect(checkOutboundUrl(url, prod)).toBeNull();
    expect(checkOutboundUrl(url, dev)).toBeNull();
  });

  it.each(NON_PUBLIC_HTTPS)("refuses %s in production (%s)", (url) => {
    expect(checkOutboundUrl(url, prod)).toMatch(/must not point at/);
  });

  it("names the range in the reason", () => {
    expect(checkOutboundUrl("https://[2002:7f00:1::]", prod)).toContain("6to4 of 127.0.0.1 (loopback)");
    expect(checkOutboundUrl("https://[64:ff9b::a9fe:a9fe]", prod)).toContain("NAT64 of 169.254.169.254");
    expect(checkOutboundUrl("https://[::7f00:1]", prod)).toContain("IPv4-compatible");
    expect(checkOutboundUrl("https://0x7f.1", prod)).toContain("127.0.0.1 is loopback");
    expect(checkOutboundUrl("https://[fd12::1]", prod)).toContain("uniqueLocal");
  });

  it("refuses http:// in production, even to public hosts and loopback", () => {
    for (const u of [
      "http://api.twilio.com",
      "http://8.8.8.8",
      "http://127.0.0.1:8788",
      "http://localhost",
    ]) {
      expect(checkOutboundUrl(u, prod), u).toMatch(/https/);
    }
  });

  it.each([
    "http://localhost:8788",
    "http://LOCALHOST:8788",
    "http://api.localhost:8788",
    "http://127.0.0.1:8788/twilio",
    "http://127.0.0.2:9",
    "http://2130706433:8788", // 127.0.0.1 as one number
    "http://[::1]:9000",
  ])("allows %s (loopback http) in development only", (url) => {
    expect(checkOutboundUrl(url, dev)).toBeNull();
    expect(checkOutboundUrl(url, prod)).not.toBeNull();
  });

  it.each([
    "http://10.0.0.5",
    "http://192.168.1.1:8080",
    "http://example.com",
    "http://8.8.8.8",
    "http://[::7f00:1]", // IPv4-compatible is not the loopback address
    "http://[fd00::1]",
    "http://intranet",
  ])("refuses %s (http to a non-loopback host) in development", (url) => {
    expect(checkOutboundUrl(url, dev)).toMatch(/only allowed to loopback/);
  });

  it.each([
    ["ftp://example.com", dev, /https/],
    ["file:///etc/passwd", dev, /https/],
    ["javascript:alert(1)", dev, /https/],
    ["ws://127.0.0.1:9", dev, /https/],
    ["gopher://127.0.0.1:25/", dev, /https/],
    ["https://user:pw@example.com", prod, /credentials/],
    ["https://user@example.com", prod, /credentials/],
    ["not a url", prod, /valid/],
    ["https://", prod, /valid/],
    ["https://[::1", prod, /valid/],
    ["https://256.1.1.1", prod, /valid/], // an IPv4-looking host out of range is not a URL
    ["https://[fe80::1%25eth0]", prod, /valid/], // zone ids are not URLs
  ] as const)("refuses %s", (url, opts, reason) => {
    expect(checkOutboundUrl(url, opts)).toMatch(reason);
  });
});

describe("classifyHost", () => {
  it.each([
    ["127.0.0.1", true, false],
    ["[::1]", true, false],
    ["localhost", true, false],
    ["foo.localhost", true, false],
    ["[::ffff:7f00:1]", false, false],
    ["10.0.0.1", false, false],
    ["[2002:7f00:1::]", false, false],
    ["example.com", false, true],
    ["8.8.8.8", false, true],
    ["[2606:4700::1111]", false, true],
  ] as const)("%s → loopback %s, public %s", (host, loopback, pub) => {
    expect(classifyHost(host)).toMatchObject({ loopback, public: pub });
  });

  it("reads IPv4 in every notation even when the host did not come through the URL parser", () => {
    for (const h of ["0x7f.1", "0177.0.0.1", "2130706433", "127.1"]) {
      expect(classifyHost(h), h).toMatchObject({ public: false, loopback: true });
    }
  });
});

describe("every notation of an IPv4 address is judged like its dotted form (property)", () => {
  const v4 = fc.tuple(
    fc.integer({ min: 0, max: 255 }),
    fc.integer({ min: 0, max: 255 }),
    fc.integer({ min: 0, max: 255 }),
    fc.integer({ min: 0, max: 255 }),
  );
  const hex = (n: number) => n.toString(16);
  const hi = ([a, b]: readonly number[]) => hex(((a ?? 0) << 8) | (b ?? 0));
  const lo = ([, , c, d]: readonly number[]) => hex(((c ?? 0) << 8) | (d ?? 0));
  const allowed = (url: string) => checkOutboundUrl(url, prod) === null;

  it("decimal, hex, octal, IPv4-mapped, NAT64 and 6to4", () => {
    fc.assert(
      fc.property(v4, (o) => {
        const dotted = allowed(`https://${o.join(".")}/`);
        const n = o.reduce((acc, x) => acc * 256 + x, 0);
        const forms = [
          `https://${n}/`,
          `https://0x${n.toString(16)}/`,
          `https://${o.map((x) => `0${x.toString(8)}`).join(".")}/`,
          `https://${o.map((x) => `0x${hex(x)}`).join(".")}/`,
          `https://[::ffff:${o.join(".")}]/`,
          `https://[::ffff:${hi(o)}:${lo(o)}]/`,
          `https://[64:ff9b::${hi(o)}:${lo(o)}]/`,
          `https://[2002:${hi(o)}:${lo(o)}::1]/`,
        ];
        for (const f of forms) expect(allowed(f), f).toBe(dotted);
        // IPv4-compatible is refused whatever it embeds.
        expect(allowed(`https://[::${o.join(".")}]/`)).toBe(false);
      }),
      { numRuns: 500 },
    );
  });

  it("every RFC 1918 and loopback address is refused", () => {
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

  it("public IPv4 addresses are accepted", () => {
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
