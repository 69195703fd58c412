/**
 * Outbound URL policy for URLs Herald calls on a tenant's behalf (carrier `base_url`, webhook
 * endpoints). A tenant-supplied URL must not turn the Worker into a proxy into private networks.
 */

const BLOCKED_SUFFIXES = [".localhost", ".local", ".internal", ".localdomain", ".home.arpa"];

function ipv4Octets(host: string): number[] | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  if (!m) return null;
  const octets = m.slice(1).map(Number);
  return octets.every((o) => o <= 255) ? octets : null;
}

function isLoopbackV4(o: number[]): boolean {
  return o[0] === 127;
}

/** Loopback, private, link-local, CGNAT, benchmark, multicast and reserved IPv4 ranges. */
function isNonPublicV4(o: number[]): boolean {
  const [a = 0, b = 0, c = 0] = o;
  return (
    a === 0 ||
    a === 10 ||
    a === 127 ||
    (a === 100 && b >= 64 && b <= 127) ||
    (a === 169 && b === 254) ||
    (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 0 && c === 0) ||
    (a === 192 && b === 0 && c === 2) ||
    (a === 192 && b === 168) ||
    (a === 198 && (b === 18 || b === 19)) ||
    (a === 198 && b === 51 && c === 100) ||
    (a === 203 && b === 0 && c === 113) ||
    a >= 224
  );
}

/**
 * Expands an IPv6 literal (without brackets) to 8 hextets, or null. Hostnames come from the
 * WHATWG URL parser, which already rewrites embedded dotted IPv4 (`::ffff:127.0.0.1` →
 * `::ffff:7f00:1`), so only hex groups remain.
 */
function ipv6Hextets(host: string): number[] | null {
  if (!host.includes(":") || !/^[0-9a-f:]+$/.test(host)) return null;
  const halves = host.split("::");
  if (halves.length > 2) return null;
  const parse = (s: string) => (s ? s.split(":").map((x) => Number.parseInt(x, 16)) : []);
  const l = parse(halves[0] ?? "");
  const r = halves.length === 2 ? parse(halves[1] ?? "") : [];
  const fill = 8 - l.length - r.length;
  if (fill < 0 || (halves.length === 1 && fill !== 0)) return null;
  const all = [...l, ...new Array<number>(fill).fill(0), ...r];
  return all.every((x) => Number.isInteger(x) && x >= 0 && x <= 0xffff) ? all : null;
}

function isLoopbackV6(h: number[]): boolean {
  return h.slice(0, 7).every((x) => x === 0) && h[7] === 1;
}

function isNonPublicV6(h: number[]): boolean {
  const [first = 0] = h;
  if (h.every((x) => x === 0)) return true; // ::
  if (isLoopbackV6(h)) return true;
  if ((first & 0xfe00) === 0xfc00) return true; // fc00::/7 unique local
  if ((first & 0xffc0) === 0xfe80) return true; // fe80::/10 link-local
  if ((first & 0xff00) === 0xff00) return true; // multicast
  // IPv4-mapped (::ffff:a.b.c.d) and NAT64 (64:ff9b::/96) carry an IPv4 address in the low 32 bits.
  const mapped = h.slice(0, 5).every((x) => x === 0) && h[5] === 0xffff;
  const nat64 = first === 0x64 && h[1] === 0xff9b && h.slice(2, 6).every((x) => x === 0);
  if (mapped || nat64) {
    const hi = h[6] ?? 0;
    const lo = h[7] ?? 0;
    return isNonPublicV4([hi >> 8, hi & 0xff, lo >> 8, lo & 0xff]);
  }
  return false;
}

function isLoopbackHost(host: string): boolean {
  if (host === "localhost" || host.endsWith(".localhost")) return true;
  const v4 = ipv4Octets(host);
  if (v4) return isLoopbackV4(v4);
  const v6 = ipv6Hextets(host);
  return v6 ? isLoopbackV6(v6) : false;
}

function isNonPublicHost(host: string): boolean {
  if (host === "localhost" || BLOCKED_SUFFIXES.some((s) => host.endsWith(s))) return true;
  if (!host.includes(".") && !host.includes(":")) return true; // single-label names resolve inside networks
  const v4 = ipv4Octets(host);
  if (v4) return isNonPublicV4(v4);
  const v6 = ipv6Hextets(host);
  return v6 ? isNonPublicV6(v6) : false;
}

/**
 * Checks a URL Herald will call. Returns null when it may be called, else the reason.
 * Production: `https://` to a public host only. Development: also `http://` to loopback.
 *
 * @example
 * checkOutboundUrl("https://api.twilio.com", { production: true }) // null
 * checkOutboundUrl("http://127.0.0.1:8788", { production: true }) // "must use https://"
 * checkOutboundUrl("http://127.0.0.1:8788", { production: false }) // null
 */
export function checkOutboundUrl(url: string, opts: { production: boolean }): string | null {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return "is not a valid absolute URL";
  }
  if (u.protocol !== "https:" && u.protocol !== "http:") return "must use https://";
  if (u.username || u.password) return "must not contain credentials";
  const host = u.hostname
    .toLowerCase()
    .replace(/^\[|\]$/g, "")
    .replace(/\.$/, "");
  if (!host) return "must name a host";
  const loopback = isLoopbackHost(host);
  if (u.protocol === "http:") {
    if (opts.production) return "must use https://";
    return loopback ? null : "must use https:// (http:// is only allowed to loopback in development)";
  }
  if (opts.production && isNonPublicHost(host)) {
    return "must not point at a loopback, private, link-local or internal address";
  }
  return null;
}
