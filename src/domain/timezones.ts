import { parsePhoneNumberFromString } from "libphonenumber-js/max";

/**
 * libphonenumber-js carries no time-zone data, so Herald keeps its own: NANP area codes that lie
 * wholly inside one zone, and countries that have one zone. An area code that straddles a zone
 * line (or where part of the area keeps another rule, e.g. the Navajo Nation in 928) is listed
 * under SPLIT_AREA_CODES instead: a zone is stored only when it is certain, and quiet hours treat a
 * minute as quiet when it is quiet in any candidate zone.
 */
const NANP_ZONES: Record<string, string> = {
  "America/New_York": [
    // CT, DE, DC
    "203 475 860 959 302 202 771",
    // FL (peninsula)
    "239 305 321 324 352 386 407 561 645 656 689 727 728 754 772 786 813 863 904 941 954",
    // GA, ME, MD
    "229 404 470 478 678 706 762 770 912 943 207 227 240 301 410 443 667",
    // MA, NH, NJ
    "339 351 413 508 617 774 781 857 978 603 201 551 609 640 732 848 856 862 908 973",
    // NY
    "212 315 329 332 347 363 516 518 585 607 624 631 646 680 716 718 838 845 914 917 929 934",
    // NC, OH
    "252 336 472 704 743 828 910 919 980 984 216 220 234 283 326 330 380 419 436 440 513 567 614 740 937",
    // PA, RI, SC, VT
    "215 223 267 272 412 445 484 570 582 610 717 724 814 835 878 401 803 839 843 854 864 802",
    // VA, WV, KY (Louisville, Lexington), TN (Knoxville)
    "276 434 540 571 686 703 757 804 826 948 304 681 502 859 865",
  ].join(" "),
  "America/Detroit": "231 248 269 313 517 586 616 679 734 810 947 989",
  "America/Indiana/Indianapolis": "260 317 463 765",
  "America/Chicago": [
    // AL, AR, IL
    "205 251 256 334 659 938 327 479 501 870 217 224 309 312 331 447 464 618 630 708 730 773 779 815 847 861 872",
    // IN (northwest), IA, KS (east)
    "219 319 515 563 641 712 316 913",
    // LA, MN, MS
    "225 318 337 457 504 985 218 320 507 612 651 763 924 952 228 601 662 769",
    // MO, NE (east), OK, TN (middle and west)
    "314 417 557 573 636 660 816 975 402 531 405 539 572 580 918 615 629 731 901",
    // TX (all but El Paso and the Trans-Pecos)
    "210 214 254 281 325 346 361 409 430 469 512 682 713 726 737 806 817 830 832 903 936 940 945 956 972 979",
    // WI
    "262 274 353 414 534 608 715 920",
  ].join(" "),
  "America/Denver": "303 719 720 970 983 406 505 575 385 435 801 307 915",
  "America/Phoenix": "480 520 602 623",
  "America/Los_Angeles": [
    "209 213 279 310 323 341 350 369 408 415 424 442 510 530 559 562 619 626 628 650 657 661 669 707 714 738",
    "747 760 805 818 820 831 837 840 858 909 916 925 949 951",
    // NV (Las Vegas), OR (northwest), WA
    "702 725 503 971 206 253 360 425 509 564",
  ].join(" "),
  "Pacific/Honolulu": "808",
  // Canada
  "America/Vancouver": "604",
  "America/Edmonton": "368 403 587 780 825",
  "America/Winnipeg": "204 431 584",
  "America/Toronto": [
    "226 249 289 343 365 382 416 437 519 548 613 647 683 705 742 753 905 942",
    // QC (all but the Magdalen Islands' 418/581/367)
    "263 354 438 450 468 514 579 819 873",
  ].join(" "),
  "America/Moncton": "428 506",
  "America/Halifax": "782 902",
};

export const SPLIT_AREA_CODES: Readonly<Record<string, readonly string[]>> = {
  // FL panhandle, MI upper peninsula, IN, KY, TN
  "850": ["America/Chicago", "America/New_York"],
  "448": ["America/Chicago", "America/New_York"],
  "906": ["America/Detroit", "America/Menominee"],
  "574": ["America/Indiana/Indianapolis", "America/Chicago"],
  "812": ["America/Indiana/Indianapolis", "America/Chicago"],
  "930": ["America/Indiana/Indianapolis", "America/Chicago"],
  "270": ["America/Chicago", "America/New_York"],
  "364": ["America/Chicago", "America/New_York"],
  "606": ["America/New_York", "America/Chicago"],
  "423": ["America/New_York", "America/Chicago"],
  "931": ["America/Chicago", "America/New_York"],
  // KS, NE, ND, SD, TX
  "620": ["America/Chicago", "America/Denver"],
  "785": ["America/Chicago", "America/Denver"],
  "308": ["America/Chicago", "America/Denver"],
  "701": ["America/Chicago", "America/Denver"],
  "605": ["America/Chicago", "America/Denver"],
  "432": ["America/Chicago", "America/Denver"],
  // ID, OR, AZ (Navajo Nation keeps DST), NV (West Wendover), AK
  "208": ["America/Boise", "America/Los_Angeles"],
  "986": ["America/Boise", "America/Los_Angeles"],
  "541": ["America/Los_Angeles", "America/Boise"],
  "458": ["America/Los_Angeles", "America/Boise"],
  "928": ["America/Phoenix", "America/Denver"],
  "775": ["America/Los_Angeles", "America/Denver"],
  "907": ["America/Anchorage", "America/Adak"],
  // Canada: BC interior, SK (Lloydminster), QC (Magdalen Islands), NW Ontario, NL, territories
  "250": ["America/Vancouver", "America/Edmonton", "America/Dawson_Creek"],
  "236": ["America/Vancouver", "America/Edmonton", "America/Dawson_Creek"],
  "257": ["America/Vancouver", "America/Edmonton", "America/Dawson_Creek"],
  "672": ["America/Vancouver", "America/Edmonton", "America/Dawson_Creek"],
  "778": ["America/Vancouver", "America/Edmonton", "America/Dawson_Creek"],
  "306": ["America/Regina", "America/Edmonton"],
  "474": ["America/Regina", "America/Edmonton"],
  "639": ["America/Regina", "America/Edmonton"],
  "367": ["America/Toronto", "America/Halifax"],
  "418": ["America/Toronto", "America/Halifax"],
  "581": ["America/Toronto", "America/Halifax"],
  "807": ["America/Toronto", "America/Winnipeg", "America/Atikokan"],
  "709": ["America/St_Johns", "America/Goose_Bay"],
  "879": ["America/St_Johns", "America/Goose_Bay"],
  "867": ["America/Whitehorse", "America/Edmonton", "America/Winnipeg", "America/Toronto"],
};

/** Countries (by libphonenumber region) with one time zone for every number. */
export const COUNTRY_ZONES: Readonly<Record<string, string>> = {
  // NANP members outside the US and Canada
  PR: "America/Puerto_Rico",
  VI: "America/St_Thomas",
  GU: "Pacific/Guam",
  MP: "Pacific/Saipan",
  AS: "Pacific/Pago_Pago",
  JM: "America/Jamaica",
  DO: "America/Santo_Domingo",
  TT: "America/Port_of_Spain",
  BS: "America/Nassau",
  BB: "America/Barbados",
  // Europe (ES and PT are left out: the Canaries and the Azores keep other zones)
  GB: "Europe/London",
  IE: "Europe/Dublin",
  FR: "Europe/Paris",
  DE: "Europe/Berlin",
  IT: "Europe/Rome",
  NL: "Europe/Amsterdam",
  BE: "Europe/Brussels",
  LU: "Europe/Luxembourg",
  CH: "Europe/Zurich",
  AT: "Europe/Vienna",
  SE: "Europe/Stockholm",
  NO: "Europe/Oslo",
  DK: "Europe/Copenhagen",
  FI: "Europe/Helsinki",
  IS: "Atlantic/Reykjavik",
  PL: "Europe/Warsaw",
  CZ: "Europe/Prague",
  SK: "Europe/Bratislava",
  HU: "Europe/Budapest",
  RO: "Europe/Bucharest",
  BG: "Europe/Sofia",
  GR: "Europe/Athens",
  SI: "Europe/Ljubljana",
  HR: "Europe/Zagreb",
  RS: "Europe/Belgrade",
  EE: "Europe/Tallinn",
  LV: "Europe/Riga",
  LT: "Europe/Vilnius",
  MT: "Europe/Malta",
  TR: "Europe/Istanbul",
  // Asia and the Middle East
  JP: "Asia/Tokyo",
  KR: "Asia/Seoul",
  IN: "Asia/Kolkata",
  CN: "Asia/Shanghai",
  HK: "Asia/Hong_Kong",
  TW: "Asia/Taipei",
  SG: "Asia/Singapore",
  PH: "Asia/Manila",
  TH: "Asia/Bangkok",
  VN: "Asia/Ho_Chi_Minh",
  PK: "Asia/Karachi",
  BD: "Asia/Dhaka",
  LK: "Asia/Colombo",
  NP: "Asia/Kathmandu",
  IL: "Asia/Jerusalem",
  AE: "Asia/Dubai",
  SA: "Asia/Riyadh",
  QA: "Asia/Qatar",
  // Africa
  ZA: "Africa/Johannesburg",
  NG: "Africa/Lagos",
  KE: "Africa/Nairobi",
  GH: "Africa/Accra",
  EG: "Africa/Cairo",
  MA: "Africa/Casablanca",
  // Latin America (MX, BR, CL, EC are left out: several zones)
  CR: "America/Costa_Rica",
  GT: "America/Guatemala",
  SV: "America/El_Salvador",
  PA: "America/Panama",
  CO: "America/Bogota",
  PE: "America/Lima",
  VE: "America/Caracas",
  UY: "America/Montevideo",
  AR: "America/Argentina/Buenos_Aires",
};

/** NANP area code → its one IANA zone. */
export const AREA_CODE_ZONE = new Map<string, string>();
for (const [zone, codes] of Object.entries(NANP_ZONES)) {
  for (const code of codes.split(/\s+/)) if (code) AREA_CODE_ZONE.set(code, zone);
}

/** Zones of the contiguous United States, for a US number whose area code says nothing. */
const CONTIGUOUS_US_ZONES = [
  "America/New_York",
  "America/Chicago",
  "America/Denver",
  "America/Phoenix",
  "America/Los_Angeles",
];

/** The three-digit NANP area code of a `+1` number, else undefined. */
export const nanpAreaCode = (e164: string): string | undefined => /^\+1(\d{3})\d{7}$/.exec(e164)?.[1];

const regionOf = (e164: string): string | undefined => parsePhoneNumberFromString(e164)?.country;

/**
 * The IANA zone of a number when it is certain: a NANP area code wholly inside one zone, or a
 * single-zone country. Null when the number could be in more than one zone.
 *
 * @example inferTimezone("+14155552671") // "America/Los_Angeles"
 * @example inferTimezone("+18505550123") // null — the Florida panhandle straddles two zones
 * @example inferTimezone("+442079460958") // "Europe/London"
 */
export function inferTimezone(e164: string): string | null {
  const area = nanpAreaCode(e164);
  if (area) {
    const zone = AREA_CODE_ZONE.get(area);
    if (zone) return zone;
    if (SPLIT_AREA_CODES[area]) return null;
  }
  const region = regionOf(e164);
  if (!region || region === "US" || region === "CA") return null;
  return COUNTRY_ZONES[region] ?? null;
}

/**
 * Every zone the number might be in: the certain one when known, the zones of a split area code,
 * the contiguous US zones for a US number with an unlisted area code, else an empty list.
 *
 * @example candidateZones("+18505550123") // ["America/Chicago", "America/New_York"]
 */
export function candidateZones(e164: string): string[] {
  const certain = inferTimezone(e164);
  if (certain) return [certain];
  const area = nanpAreaCode(e164);
  if (area) {
    const split = SPLIT_AREA_CODES[area];
    if (split) return [...split];
    if (regionOf(e164) === "US") return [...CONTIGUOUS_US_ZONES];
  }
  return [];
}

const FL_OK_AREA_CODES = new Set(
  "239 305 321 324 352 386 407 448 561 645 656 689 727 728 754 772 786 813 850 863 904 941 954 405 539 572 580 918".split(
    " ",
  ),
);
const FL_OK_REGIONS = new Set(["FL", "FLORIDA", "OK", "OKLAHOMA"]);

/**
 * Florida and Oklahoma have stricter telemarketing rules (3 messages per 24 h, quiet from 20:00).
 * The contact's `region` attribute decides when present; otherwise the NANP area code.
 *
 * @example isFloridaOrOklahoma("+13055550100") // true
 * @example isFloridaOrOklahoma("+13055550100", "New York") // false — the region attribute wins
 */
export function isFloridaOrOklahoma(e164: string, region?: string | null): boolean {
  if (typeof region === "string" && region.trim() !== "") {
    return FL_OK_REGIONS.has(region.trim().toUpperCase());
  }
  const area = nanpAreaCode(e164);
  return area !== undefined && FL_OK_AREA_CODES.has(area);
}
