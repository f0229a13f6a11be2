/**
 * `deno task build`: builds the native libraries (one per CPU variant) with the pinned Zig into
 * `zig/zig-out/lib/`, then lists them. `--test` also runs the Zig unit tests of every module.
 *
 * Zig is found as `$ZIG` (a command, e.g. `zig` or `python3 -m ziglang`), else `zig` on PATH
 * when it is the pinned version, else `python3 -m ziglang` (PyPI `ziglang`).
 *
 * ```sh
 * deno task build                         # all variants of this machine's architecture
 * deno task build --test                  # and the Zig unit tests
 * deno task build --variant avx2          # one variant
 * deno task build --target aarch64-linux-gnu
 * deno task build --target aarch64-linux-gnu --test   # under QEMU, see foreign_tests.ts
 * deno task build --test --cross          # this machine's, then aarch64's under QEMU
 * ```
 *
 * `--cross` is what `deno task test` runs: on x86-64 the NEON, dotprod and i8mm kernels are
 * tested too (against the same naive kernels), so a change cannot break them unseen.
 *
 * @module
 */

import { NativeLibraryError } from "../../core/errors.ts";

/** The Zig release the native code is written for (its std API changes between releases). */
export const ZIG_VERSION = "0.16.0";

/** The directory holding build.zig. */
export const ZIG_PROJECT_DIR = new URL("../../zig/", import.meta.url).pathname;

/** How to run Zig: `command` followed by `args` then Zig's own arguments. */
export interface ZigCommand {
  command: string;
  args: string[];
  /** What `zig version` printed. */
  version: string;
  /** Where it was found, for messages: "$ZIG", "PATH", "python3 -m ziglang". */
  source: string;
}

/** Options of {@linkcode findZig}. */
export interface FindZigOptions {
  /** The `$ZIG` value to use (default: the environment's). */
  zigEnv?: string;
}

/**
 * Finds the pinned Zig.
 *
 * @returns the command that runs Zig {@linkcode ZIG_VERSION}
 * @throws NativeLibraryError naming the versions found and how to install the pinned one
 */
export async function findZig(options: FindZigOptions = {}): Promise<ZigCommand> {
  const zigEnv = "zigEnv" in options ? options.zigEnv : Deno.env.get("ZIG");
  if (zigEnv !== undefined && zigEnv.trim() !== "") {
    const [command, ...args] = zigEnv.trim().split(/\s+/);
    const found = await _probeZig(command, args, "$ZIG");
    if (found === undefined) throw _versionError(`$ZIG ("${zigEnv}") does not run`);
    if (found.version === ZIG_VERSION) return found;
    throw _versionError(`found ${found.version} ($ZIG)`);
  }
  const candidates = [
    { command: "zig", args: [], source: "PATH" },
    { command: "python3", args: ["-m", "ziglang"], source: "python3 -m ziglang" },
  ];
  const seen: { source: string; version: string }[] = [];
  for (const candidate of candidates) {
    const found = await _probeZig(candidate.command, candidate.args, candidate.source);
    if (found === undefined) continue;
    if (found.version === ZIG_VERSION) return found;
    seen.push(found);
  }
  throw _versionError(
    seen.length === 0
      ? "no Zig was found (tried $ZIG, zig on PATH, python3 -m ziglang)"
      : `found ${seen.map((s) => `${s.version} (${s.source})`).join(", ")}`,
  );
}

async function _probeZig(
  command: string,
  args: string[],
  source: string,
): Promise<ZigCommand | undefined> {
  try {
    const output = await new Deno.Command(command, {
      args: [...args, "version"],
      stdout: "piped",
      stderr: "null",
    }).output();
    if (!output.success) return undefined;
    const version = new TextDecoder().decode(output.stdout).trim();
    return { command, args, version, source };
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

function _versionError(found: string): NativeLibraryError {
  return new NativeLibraryError(
    `Cannot build the native library: it needs Zig ${ZIG_VERSION}, but ${found}; ` +
      `install the pinned one with \`python3 -m pip install ziglang==${ZIG_VERSION}\``,
  );
}

/** Options of {@linkcode buildNative}. */
export interface BuildNativeOptions {
  /** Also run `zig build test`. */
  test?: boolean;
  /** Build one variant only ("avx2"). */
  variant?: string;
  /** A Zig target triple ("aarch64-linux-gnu"); default: this machine. */
  target?: string;
  /** Zig optimize mode of the libraries (default "ReleaseFast"). */
  optimize?: "Debug" | "ReleaseSafe" | "ReleaseFast" | "ReleaseSmall";
}

/**
 * Runs `zig build` (and `zig build test` with `test`) in the zig/ directory, output inherited.
 *
 * @returns the paths of the libraries in `zig/zig-out/lib`
 * @throws NativeLibraryError when Zig is missing or the build fails
 */
export async function buildNative(options: BuildNativeOptions = {}): Promise<string[]> {
  const zig = await findZig();
  const steps = options.test ? ["install", "test"] : ["install"];
  const flags = [`-Doptimize=${options.optimize ?? "ReleaseFast"}`];
  if (options.variant !== undefined) flags.push(`-Dvariant=${options.variant}`);
  const env: Record<string, string> = {};
  if (options.target !== undefined) {
    flags.push(`-Dtarget=${options.target}`);
    const linkDir = `${ZIG_PROJECT_DIR}.zig-cache/qemu-bin`;
    // Loaded here, not at the top: it uses node:fs, and acquire.ts (on every model load)
    // imports this module for findZig.
    const { foreignTestSetup } = await import("./foreign_tests.ts");
    const foreign = options.test ? foreignTestSetup(options.target, { linkDir }) : undefined;
    if (foreign !== undefined) {
      flags.push(...foreign.flags);
      env.PATH = foreign.pathEnv;
    }
  }
  const args = [...zig.args, "build", ...steps, ...flags, "--summary", "failures"];
  const command = new Deno.Command(zig.command, { args, cwd: ZIG_PROJECT_DIR, env });
  const status = await command.spawn().status;
  if (!status.success) {
    throw new NativeLibraryError(
      `Cannot build the native library: \`zig ${args.slice(zig.args.length).join(" ")}\` ` +
        `in ${ZIG_PROJECT_DIR} exited with code ${status.code}`,
    );
  }
  return _listLibraries(`${ZIG_PROJECT_DIR}zig-out/lib`);
}

function _listLibraries(dir: string): string[] {
  const names = [...Deno.readDirSync(dir)]
    .filter((entry) => entry.isFile && /^libzeno-.*\.(so|dylib)$/.test(entry.name))
    .map((entry) => entry.name)
    .sort();
  return names.map((name) => `${dir}/${name}`);
}

/**
 * What `--cross` also builds (and tests, under QEMU) on a machine of each architecture. An
 * aarch64 machine has no entry: QEMU 7.2 cannot run the AVX-512 variant.
 */
const CROSS_TARGETS: Partial<Record<string, string>> = { x86_64: "aarch64-linux-gnu" };

async function main(args: string[]): Promise<number> {
  const { parseArgs } = await import("node:util"); // not at the top: see buildNative
  const { values } = parseArgs({
    args,
    options: {
      test: { type: "boolean", default: false },
      variant: { type: "string" },
      target: { type: "string" },
      cross: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log("usage: deno task build [--test] [--variant <name>] [--target <triple>] [--cross]");
    return 0;
  }
  try {
    const { cross, ...options } = values;
    let libraries = await buildNative(options);
    if (values.test) console.log("zig build test: every unit test passed");
    const crossTarget = cross ? CROSS_TARGETS[Deno.build.arch] : undefined;
    if (crossTarget !== undefined) {
      libraries = await buildNative({ ...options, target: crossTarget });
      if (values.test) console.log(`zig build test (${crossTarget}, QEMU): every unit test passed`);
    }
    for (const path of libraries) {
      const kib = Math.round(Deno.statSync(path).size / 1024);
      console.log(`${path}  ${kib} KiB`);
    }
    return 0;
  } catch (error) {
    if (!(error instanceof NativeLibraryError)) throw error;
    console.error(error.message);
    return 1;
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
