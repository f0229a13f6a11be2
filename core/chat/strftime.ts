/**
 * `strftime_now(format)` for chat templates (Llama 3.1 writes "Today Date: 26 Jul 2024" with
 * `strftime_now("%d %b %Y")`). English names on purpose: a prompt must not change with the
 * machine's locale.
 *
 * @module
 */

const MONTHS = [
  "January",
  "February",
  "March",
  "April",
  "May",
  "June",
  "July",
  "August",
  "September",
  "October",
  "November",
  "December",
];
const WEEKDAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];

function _pad2(value: number): string {
  return String(value).padStart(2, "0");
}

/**
 * Formats a local date with the C `strftime` directives templates use: %Y %y %m %d %e %B %b
 * %A %a %H %I %M %S %p %j %%. Other directives are kept as written.
 *
 * @param date the date to format, read in local time
 * @param format a `strftime` pattern
 * @returns the formatted text
 *
 * @example Llama 3.1's date line
 * ```ts
 * import { strftime } from "./strftime.ts";
 * const text = strftime(new Date(2024, 6, 26), "%d %b %Y");
 * if (text !== "26 Jul 2024") throw new Error(text);
 * ```
 */
export function strftime(date: Date, format: string): string {
  return format.replace(/%[YymdeBbAaHIMSpj%]/g, (directive) => {
    switch (directive) {
      case "%Y":
        return String(date.getFullYear());
      case "%y":
        return _pad2(date.getFullYear() % 100);
      case "%m":
        return _pad2(date.getMonth() + 1);
      case "%d":
        return _pad2(date.getDate());
      case "%e":
        return String(date.getDate()).padStart(2, " ");
      case "%B":
        return MONTHS[date.getMonth()];
      case "%b":
        return MONTHS[date.getMonth()].slice(0, 3);
      case "%A":
        return WEEKDAYS[date.getDay()];
      case "%a":
        return WEEKDAYS[date.getDay()].slice(0, 3);
      case "%H":
        return _pad2(date.getHours());
      case "%I":
        return _pad2(((date.getHours() + 11) % 12) + 1);
      case "%M":
        return _pad2(date.getMinutes());
      case "%S":
        return _pad2(date.getSeconds());
      case "%p":
        return date.getHours() < 12 ? "AM" : "PM";
      case "%j":
        return String(_dayOfYear(date)).padStart(3, "0");
      default:
        return "%";
    }
  });
}

function _dayOfYear(date: Date): number {
  // UTC midnights, so a daylight-saving shift cannot move the day.
  const dayMs = 24 * 60 * 60 * 1000;
  const todayMs = Date.UTC(date.getFullYear(), date.getMonth(), date.getDate());
  return (todayMs - Date.UTC(date.getFullYear(), 0, 1)) / dayMs + 1;
}
