/**
 * Helpers shared by the CLI commands for their flags.
 *
 * @module
 */

/** Parses a numeric flag; undefined stays undefined. */
export function numberOption(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (value.trim() === "" || !Number.isFinite(parsed)) {
    throw new RangeError(`Cannot parse ${flag} "${value}": expected a number`);
  }
  return parsed;
}

/** The object without its undefined fields (so option defaults apply). */
export function compact<T extends Record<string, unknown>>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as Partial<T>;
}
