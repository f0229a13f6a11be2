/**
 * `format` values zeno enforces, as anchored patterns over the string's characters. Each is
 * a subset of what ajv-formats' full mode accepts (so every generated value validates), and
 * covers the usual spellings: calendar-exact dates (month lengths, leap years), RFC 3339
 * times with a zone, `scheme://host/path?query` URIs, dotted-quad IPv4.
 *
 * @module
 */

import type { Expr } from "./grammar.ts";
import { patternToExpr } from "./regex.ts";

const YEAR = "[0-9]{4}";
const MONTH_DAY = "(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)|02-(?:0[1-9]|1[0-9]|2[0-8]))";
// Leap years: yy·(multiple of 4 but not 00), or (multiple of 4)·00.
const LEAP_YEAR = "(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:[02468][048]|[13579][26])00)";
const DATE = `(?:${YEAR}-${MONTH_DAY}|${LEAP_YEAR}-02-29)`;
const HOUR = "(?:[01][0-9]|2[0-3])";
const TIME = `${HOUR}:[0-5][0-9]:[0-5][0-9](?:\\.[0-9]+)?(?:Z|[+-]${HOUR}:[0-5][0-9])`;
const LABEL = "[a-z0-9](?:[a-z0-9-]*[a-z0-9])?";
const OCTET = "(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])";
const EMAIL_ATOM = "[a-zA-Z0-9!#$%&'*+/=?^_`{|}~-]+";

/** The supported formats and their anchored patterns. */
export const FORMAT_PATTERNS: Readonly<Record<string, string>> = {
  "date": `^${DATE}$`,
  "time": `^${TIME}$`,
  "date-time": `^${DATE}T${TIME}$`,
  "uuid": "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
  "email": `^${EMAIL_ATOM}(?:\\.${EMAIL_ATOM})*@(?:${LABEL}\\.)+${LABEL}$`,
  "uri": `^[a-z][a-z0-9+.-]*://${LABEL}(?:\\.${LABEL})*(?:/[a-zA-Z0-9._~-]*)*(?:\\?[a-zA-Z0-9._~=&-]*)?$`,
  "ipv4": `^${OCTET}(?:\\.${OCTET}){3}$`,
};

const _cache = new Map<string, Expr>();

/** The characters of a string in `format`, or undefined when the format is not supported. */
export function formatExpr(format: string): Expr | undefined {
  const pattern = FORMAT_PATTERNS[format];
  if (pattern === undefined) return undefined;
  let expr = _cache.get(format);
  if (expr === undefined) {
    expr = patternToExpr(pattern);
    _cache.set(format, expr);
  }
  return expr;
}
