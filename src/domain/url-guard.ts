/**
 * Outbound URL policy for URLs Herald calls on a tenant's behalf (carrier `base_url`, webhook
 * endpoints). A tenant-supplied URL must not turn the Worker into a proxy into private networks.
 *
 * Pure: the URL is parsed by the WHATWG URL parser (which rewrites every IPv4 notation —
 * `2130706433`, `0177.0.0.1`, `0x7f.1`, `127.1` — to dotted decimal, and embedded dotted IPv4 in
 * IPv6 literals to hex groups), then IP literals are classified with ipaddr.js. Only public
 * unicast passes in production; a literal that embeds an IPv4 address (IPv4-mapped, IPv4-translated,
 * NAT64, 6to4, Teredo) is as public as the address it embeds. The guard runs when a URL is written
 * and again right before each call, and callers never follow redirects.
 */
import ipaddr from "ipaddr.js";

/** Which rules apply: production refuses everything but `https://` to a public host. */
export interface OutboundPolicy {
  production: boolean;
}

type IPv4 = ipaddr.IPv4;
type IPv6 = ipaddr.IPv6;

/** Names that resolve inside networks, never on the public internet. */
const BLOCKED_SUFFIXES = [".localhost", ".local", ".internal", ".localdomain", ".home.arpa"];

/** 2000::/3: the only IPv6 block IANA allocates as global unicast. */
const GLOBAL_UNICAST_V6 = ipaddr.IPv6.parseCIDR("2000::/3");

/** What a host is, for the guard: `why` names the range when it is not public. */
export interface HostClass {
  loopback: boolean;
  public: boolean;
  why?: string;
}

const v4FromParts = (hi: number, lo: number): IPv4 =>
  new ipaddr.IPv4([hi >> 8, hi & 0xff, lo >> 8, lo & 0xff]);

function classifyV4(ip: IPv4): HostClass {
  const range = ip.range() as string;
  if (range === "unicast") return { loopback: false, public: true };
  return { loopback: range === "loopback", public: false, why: `${ip.toString()} is ${range}` };
}

/**
 * The IPv4 addresses an IPv6 address carries by a transition mechanism, with the mechanism's
 * name; null when it carries none. Teredo carries two: the server and the (bit-inverted) client.
 */
function embeddedV4(ip: IPv6, range: string): { name: string; v4: IPv4[] } | null {
  const p = ip.parts;
  const at = (i: number) => p[i] ?? 0;
  switch (range) {
    case "ipv4Mapped": // ::ffff:a.b.c.d
      return { name: "IPv4-mapped", v4: [v4FromParts(at(6), at(7))] };
    case "rfc6145": // ::ffff:0:a.b.c.d
      return { name: "IPv4-translated", v4: [v4FromParts(at(6), at(7))] };
    case "rfc6052": // 64:ff9b::a.b.c.d (the local-use 64:ff9b:1::/48 is refused whole)
      return at(2) === 0 ? { name: "NAT64", v4: [v4FromParts(at(6), at(7))] } : null;
    case "6to4": // 2002:aabb:ccdd::/48
      return { name: "6to4", v4: [v4FromParts(at(1), at(2))] };
    case "teredo": // 2001:0:server:flags:port:~client
      return {
        name: "Teredo",
        v4: [v4FromParts(at(2), at(3)), v4FromParts(~at(6) & 0xffff, ~at(7) & 0xffff)],
      };
    default:
      return null;
  }
}

function classifyV6(ip: IPv6): HostClass {
  const range = ip.range() as string;
  const shown = `[${ip.toString()}]`;
  if (range === "loopback") return { loopback: true, public: false, why: `${shown} is loopback` };
  const embedded = embeddedV4(ip, range);
  if (embedded) {
    for (const v4 of embedded.v4) {
      const range4 = v4.range() as string;
      if (range4 !== "unicast") {
        return { loopback: false, public: false, why: `${shown} is ${embedded.name} of ${v4} (${range4})` };
      }
    }
    return { loopback: false, public: true };
  }
  const p = ip.parts;
  if (range === "unicast" && p.slice(0, 6).every((x) => x === 0)) {
    // ::a.b.c.d, deprecated by RFC 4291; some stacks still route it to the IPv4 address.
    return { loopback: false, public: false, why: `${shown} is IPv4-compatible (deprecated)` };
  }
  if (range === "unicast" && ip.match(GLOBAL_UNICAST_V6)) return { loopback: false, public: true };
  const name = range === "unicast" ? "outside global unicast (2000::/3)" : range;
  return { loopback: false, public: false, why: `${shown} is ${name}` };
}

/**
 * Classifies a hostname as the WHATWG URL parser leaves it (lower case, IPv6 in brackets, IPv4
 * in dotted decimal), e.g. `classifyHost("[2002:7f00:1::]")` →
 * `{loopback: false, public: false, why: "[2002:7f00:1::] is 6to4 of 127.0.0.1 (loopback)"}`.
 */
export function classifyHost(hostname: string): HostClass {
  const host = hostname.toLowerCase().replace(/\.$/, "");
  if (host.startsWith("[") && host.endsWith("]")) {
    const inner = host.slice(1, -1);
    if (!ipaddr.IPv6.isValid(inner))
      return { loopback: false, public: false, why: `${host} is not an address` };
    return classifyV6(ipaddr.IPv6.parse(inner));
  }
  // Dotted decimal after URL parsing; ipaddr's own parser also reads octal, hex and short forms,
  // so a host that did not come through the URL parser is still classified by its value.
  if (ipaddr.IPv4.isValid(host)) return classifyV4(ipaddr.IPv4.parse(host));
  if (host === "localhost" || host.endsWith(".localhost")) {
    return { loopback: true, public: false, why: `${host} is a localhost name` };
  }
  if (BLOCKED_SUFFIXES.some((s) => host.endsWith(s))) {
    return { loopback: false, public: false, why: `${host} is an internal name` };
  }
  if (!host.includes(".")) {
    // Single-label names resolve inside networks (search domains), never to a public host.
    return { loopback: false, public: false, why: `${host} is a single-label name` };
  }
  return { loopback: false, public: true };
}

/**
 * Checks a URL Herald will call. Returns null when it may be called, else the reason.
 * Production: `https://` to a public host only. Development: also `http://` to loopback
 * (`localhost`, `*.localhost`, 127.0.0.0/8, `[::1]`).
 *
 * @example
 * checkOutboundUrl("https://api.twilio.com", { production: true }) // null
 * checkOutboundUrl("http://127.0.0.1:8788", { production: true }) // "must use https://"
 * checkOutboundUrl("http://127.0.0.1:8788", { production: false }) // null
 * checkOutboundUrl("https://[::7f00:1]", { production: true }) // "must not point at … IPv4-compatible …"
 */
export function checkOutboundUrl(url: string, opts: OutboundPolicy): string | null {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return "is not a valid absolute URL";
  }
  if (u.protocol !== "https:" && u.protocol !== "http:") return "must use https://";
  if (u.username || u.password) return "must not contain credentials";
  if (!u.hostname) return "must name a host";
  const host = classifyHost(u.hostname);
  if (u.protocol === "http:") {
    if (opts.production) return "must use https://";
    return host.loopback ? null : "must use https:// (http:// is only allowed to loopback in development)";
  }
  if (opts.production && !host.public) {
    return `must not point at a loopback, private, link-local or internal address (${host.why ?? u.hostname})`;
  }
  return null;
}
