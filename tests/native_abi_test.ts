/**
 * The contract between zig/src/c_api.zig and backends/native: the symbol table, the ABI
 * version, the status and feature tables, the loader's choices and errors, and mapped files.
 * Needs the libraries built (`deno task build`).
 */

import { deepStrictEqual, ok, strictEqual, throws } from "node:assert";
import { Buffer } from "node:buffer";
import { copyFileSync } from "node:fs";
import { join } from "node:path";
import { NativeLibraryError } from "../core/errors.ts";
import { findZig } from "../backends/native/build.ts";
import { CPU_FEATURE_BITS } from "../backends/native/cpu_features.ts";
import { loadNativeLibrary, nativeLibraryFileName } from "../backends/native/library.ts";
import { mapFile } from "../backends/native/mapped_file.ts";
import { NATIVE_STATUS, NativeStatusError, statusMessage } from "../backends/native/status.ts";
import { NATIVE_SYMBOLS, ZENO_ABI_VERSION } from "../backends/native/symbols.ts";
import { testdataPath } from "./testdata.ts";

const ZIG_SRC = new URL("../zig/src/", import.meta.url);
const C_API_SOURCE = Deno.readTextFileSync(new URL("c_api.zig", ZIG_SRC));
const CPU_SOURCE = Deno.readTextFileSync(new URL("cpu.zig", ZIG_SRC));

interface ZigExport {
  name: string;
  parameterTypes: string[];
  resultType: string;
}

/** `export fn zeno_x(a: T, b: U) R {` declarations, parameters possibly over several lines. */
function parseZigExports(source: string): ZigExport[] {
  const pattern = /^export fn (zeno_\w+)\(([^)]*)\)\s*([^{]+?)\s*\{/gm;
  return [...source.matchAll(pattern)].map(([, name, parameters, resultType]) => ({
    name,
    parameterTypes: parameters.split(",").map((p) => p.trim()).filter((p) => p !== "")
      .map((p) => p.slice(p.indexOf(":") + 1).trim()),
    resultType,
  }));
}

/** The Deno FFI types a Zig type may be declared as. */
function denoTypesFor(zigType: string): string[] {
  if (/^\??(\*|\[\*)/.test(zigType)) return ["pointer", "buffer"];
  const scalars: Record<string, string> = {
    u8: "u8",
    i8: "i8",
    u16: "u16",
    i16: "i16",
    u32: "u32",
    i32: "i32",
    u64: "u64",
    i64: "i64",
    usize: "usize",
    isize: "isize",
    c_int: "i32",
    c_uint: "u32",
    Status: "i32",
    f32: "f32",
    f64: "f64",
    void: "void",
    bool: "bool",
  };
  return zigType in scalars ? [scalars[zigType]] : [];
}

/** `name = value,` lines of the Zig enum declared by `header`. */
function parseZigEnum(source: string, header: string): Record<string, number> {
  const start = source.indexOf(header);
  ok(start >= 0, `cannot find "${header}"`);
  const body = source.slice(start, source.indexOf("\n};", start));
  const entries = [...body.matchAll(/^\s+(\w+) = (\d+),/gm)];
  return Object.fromEntries(entries.map(([, name, value]) => [name, Number(value)]));
}

Deno.test("NATIVE_SYMBOLS matches the export fn declarations of c_api.zig", () => {
  const exports = parseZigExports(C_API_SOURCE);
  deepStrictEqual(
    Object.keys(NATIVE_SYMBOLS).sort(),
    exports.map((e) => e.name).sort(),
  );
  for (const { name, parameterTypes, resultType } of exports) {
    const symbol = NATIVE_SYMBOLS[name as keyof typeof NATIVE_SYMBOLS];
    strictEqual(symbol.parameters.length, parameterTypes.length, `${name}: parameter count`);
    symbol.parameters.forEach((denoType, i) => {
      const allowed = denoTypesFor(parameterTypes[i]);
      ok(allowed.includes(denoType), `${name} parameter ${i}: ${parameterTypes[i]} vs ${denoType}`);
    });
    const allowedResults = denoTypesFor(resultType).filter((t) => t !== "buffer");
    ok(allowedResults.includes(symbol.result), `${name} result: ${resultType} vs ${symbol.result}`);
  }
});

Deno.test("parseZigExports() reads multi-line parameter lists", () => {
  const source = "export fn zeno_a(\n    x: ?[*]const u8,\n    n: usize,\n) Status {\n}\n" +
    "export fn zeno_b() void {}\nfn zeno_private(a: u32) void {}\n";
  deepStrictEqual(parseZigExports(source), [
    { name: "zeno_a", parameterTypes: ["?[*]const u8", "usize"], resultType: "Status" },
    { name: "zeno_b", parameterTypes: [], resultType: "void" },
  ]);
});

Deno.test("ZENO_ABI_VERSION equals abi_version of c_api.zig and of the built library", () => {
  const match = C_API_SOURCE.match(/^pub const abi_version: u32 = (\d+);$/m);
  ok(match !== null, "c_api.zig declares abi_version");
  strictEqual(Number(match[1]), ZENO_ABI_VERSION);
  const native = loadNativeLibrary();
  strictEqual(native.symbols.zeno_abi_version(), ZENO_ABI_VERSION);
  strictEqual(native.abiVersion, ZENO_ABI_VERSION);
});

Deno.test("NATIVE_STATUS and CPU_FEATURE_BITS match the Zig enums", () => {
  deepStrictEqual(parseZigEnum(C_API_SOURCE, "pub const Status = enum(c_int) {"), NATIVE_STATUS);
  deepStrictEqual(parseZigEnum(CPU_SOURCE, "pub const Feature = enum(u6) {"), CPU_FEATURE_BITS);
  const { symbols } = loadNativeLibrary();
  strictEqual(statusMessage(symbols, NATIVE_STATUS.not_found), "file does not exist");
  strictEqual(statusMessage(symbols, 12345), "unknown status");
  for (const value of Object.values(NATIVE_STATUS)) {
    ok(statusMessage(symbols, value) !== "unknown status", `status ${value} has a message`);
  }
});

Deno.test("loadNativeLibrary() opens the best variant the CPU supports, once", () => {
  const native = loadNativeLibrary();
  strictEqual(native, loadNativeLibrary());
  deepStrictEqual(native.variants.map((v) => v.name), VARIANTS_BY_ARCH[Deno.build.arch]);
  strictEqual(native.variant, native.variants.findLast((v) => v.supported)!.name);
  strictEqual(native.variants[0].supported, true);
  ok(native.path.endsWith(nativeLibraryFileName(native.variant)), native.path);
  const built = Deno.UnsafePointerView.getCString(native.symbols.zeno_build_variant()!);
  strictEqual(built, native.variant);
  for (const variant of native.variants) {
    const expected = variant.requiredFeatures.every((f) => native.cpuFeatures.includes(f));
    strictEqual(variant.supported, expected, variant.name);
  }
});

const VARIANTS_BY_ARCH: Record<string, string[]> = {
  x86_64: ["baseline", "avx2", "avx512"],
  aarch64: ["baseline", "dotprod", "i8mm"],
};

Deno.test("loadNativeLibrary() takes the variant from options or ZENO_CPU_VARIANT", () => {
  const native = loadNativeLibrary();
  strictEqual(loadNativeLibrary({ variant: native.variant }), native, "one binding per file");
  strictEqual(loadNativeLibrary({ variant: "baseline" }).variant, "baseline");
  const libDir = loadNativeLibrary().path.replace(/\/[^/]+$/, "");
  Deno.env.set("ZENO_CPU_VARIANT", "baseline");
  try {
    const native = loadNativeLibrary({ libDir: `${libDir}/` });
    strictEqual(native.variant, "baseline");
    strictEqual(native.path, join(libDir, nativeLibraryFileName("baseline")));
  } finally {
    Deno.env.delete("ZENO_CPU_VARIANT");
  }
  throws(() => loadNativeLibrary({ variant: "sse9" }), {
    name: "RangeError",
    message: `Cannot load the native library variant "sse9": ${Deno.build.arch} has variants ` +
      VARIANTS_BY_ARCH[Deno.build.arch].join(", "),
  });
});

Deno.test("loadNativeLibrary() refuses a variant whose features the CPU lacks", () => {
  const native = loadNativeLibrary();
  const unsupported = native.variants.find((v) => !v.supported);
  if (unsupported === undefined) {
    // Every variant runs on this CPU: then each one must load.
    for (const { name } of native.variants) {
      strictEqual(loadNativeLibrary({ variant: name }).variant, name);
    }
    return;
  }
  const missing = unsupported.requiredFeatures.filter((f) => !native.cpuFeatures.includes(f));
  throws(() => loadNativeLibrary({ variant: unsupported.name }), {
    name: "NativeLibraryError",
    message: `Cannot load the native library variant "${unsupported.name}": this CPU lacks ` +
      missing.join(", "),
  });
});

Deno.test("loadNativeLibrary() names the missing library and the fix", () => {
  const libDir = Deno.makeTempDirSync({ prefix: "zeno-empty-lib-" });
  try {
    const path = join(libDir, nativeLibraryFileName("baseline"));
    throws(() => loadNativeLibrary({ libDir }), {
      name: "NativeLibraryError",
      message: `Cannot load the native library "${path}": the file does not exist; run ` +
        "`deno task build`, or set ZENO_LIB_DIR to the directory that holds " +
        nativeLibraryFileName("<variant>"),
    });
  } finally {
    Deno.removeSync(libDir, { recursive: true });
  }
});

Deno.test("loadNativeLibrary() names the versions of a stale library", async () => {
  const libDir = Deno.makeTempDirSync({ prefix: "zeno-stale-lib-" });
  try {
    const source = join(libDir, "stale.zig");
    Deno.writeTextFileSync(source, "export fn zeno_abi_version() u32 {\n    return 999;\n}\n");
    const path = join(libDir, nativeLibraryFileName("baseline"));
    const zig = await findZig();
    const output = await new Deno.Command(zig.command, {
      args: [
        ...zig.args,
        "build-lib",
        "-dynamic",
        "-OReleaseSmall",
        "-fno-compiler-rt",
        source,
        `-femit-bin=${path}`,
      ],
      cwd: libDir,
    }).output();
    strictEqual(output.code, 0, new TextDecoder().decode(output.stderr));
    throws(() => loadNativeLibrary({ libDir }), {
      name: "NativeLibraryError",
      message: `Cannot load the native library "${path}": it has ABI version 999, but this ` +
        `zeno needs version ${ZENO_ABI_VERSION}; run \`deno task build\` to rebuild it`,
    });
  } finally {
    Deno.removeSync(libDir, { recursive: true });
  }
});

Deno.test("loadNativeLibrary() refuses a library file renamed to another variant", () => {
  const native = loadNativeLibrary();
  const other = native.variants.find((v) => v.name !== "baseline" && v.supported);
  ok(other !== undefined, "this test needs a CPU that runs a variant above baseline");
  const libDir = Deno.makeTempDirSync({ prefix: "zeno-renamed-lib-" });
  try {
    const baseline = native.path.replace(/[^/]+$/, nativeLibraryFileName("baseline"));
    copyFileSync(baseline, join(libDir, nativeLibraryFileName("baseline")));
    copyFileSync(baseline, join(libDir, nativeLibraryFileName(other.name)));
    throws(() => loadNativeLibrary({ libDir, variant: other.name }), {
      name: "NativeLibraryError",
      message:
        `Cannot load the native library "${join(libDir, nativeLibraryFileName(other.name))}"` +
        `: it was built as variant "baseline", not "${other.name}"; run \`deno task build\``,
    });
  } finally {
    Deno.removeSync(libDir, { recursive: true });
  }
});

Deno.test("mapFile() maps stories260K.gguf byte for byte", async () => {
  const path = testdataPath("models/stories260K.gguf");
  const expected = await Deno.readFile(path);
  const mapped = mapFile(path);
  try {
    strictEqual(mapped.path, path);
    strictEqual(mapped.byteLength, 1185376);
    strictEqual(mapped.bytes.length, expected.length);
    ok(Buffer.from(mapped.bytes).equals(Buffer.from(expected)), "mapped bytes equal the file");
    strictEqual(new TextDecoder().decode(mapped.bytes.subarray(0, 4)), "GGUF");
    mapped.advise("willneed");
    mapped.advise("sequential");
    mapped.lock();
    strictEqual(smapsOf(addressOf(mapped.bytes)).lockedKb, Math.ceil(mapped.byteLength / 4096) * 4);
  } finally {
    mapped.close();
  }
  strictEqual(mapped.closed, true);
  mapped.close(); // A second close does nothing.
  throws(() => mapped.lock(), {
    name: "NativeLibraryError",
    message: `Cannot lock "${path}": it is closed`,
  });
  throws(() => mapped.advise("normal"), {
    name: "NativeLibraryError",
    message: `Cannot advise "${path}": it is closed`,
  });
});

Deno.test("mapFile() of an empty file gives an empty array", () => {
  const path = Deno.makeTempFileSync({ prefix: "zeno-empty-", suffix: ".gguf" });
  try {
    const mapped = mapFile(path);
    strictEqual(mapped.byteLength, 0);
    deepStrictEqual(mapped.bytes, new Uint8Array(0));
    mapped.advise("willneed");
    mapped.lock();
    mapped.close();
  } finally {
    Deno.removeSync(path);
  }
});

Deno.test("mapFile() errors name the path and the reason", () => {
  const dir = Deno.makeTempDirSync({ prefix: "zeno-map-errors-" });
  try {
    const missing = join(dir, "missing.gguf");
    const cases = [
      { path: missing, reason: "file does not exist", status: NATIVE_STATUS.not_found },
      { path: dir, reason: "is a directory", status: NATIVE_STATUS.is_directory },
      { path: "/dev/null", reason: "not a regular file", status: NATIVE_STATUS.not_regular_file },
      { path: "", reason: "invalid argument", status: NATIVE_STATUS.invalid_argument },
    ];
    for (const { path, reason, status } of cases) {
      throws(() => mapFile(path), (error: unknown) => {
        ok(error instanceof NativeStatusError && error instanceof NativeLibraryError);
        strictEqual(error.message, `Cannot map "${path}": ${reason}`);
        strictEqual(error.status, status);
        return true;
      });
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

/** Rss and Shared_Clean (kB) of the mapping that starts at `address` in /proc/self/smaps. */
function smapsOf(
  address: bigint,
): { path: string; rssKb: number; sharedCleanKb: number; lockedKb: number } {
  const smaps = Deno.readTextFileSync("/proc/self/smaps");
  const start = address.toString(16).padStart(8, "0");
  const entry = smaps.split(/\n(?=[0-9a-f]+-[0-9a-f]+ )/).find((e) => e.startsWith(`${start}-`));
  ok(entry !== undefined, `no mapping at 0x${start} in /proc/self/smaps`);
  const field = (name: string) =>
    Number(entry.match(new RegExp(`^${name}:\\s+(\\d+) kB`, "m"))![1]);
  const path = entry.split("\n")[0].trim().split(/\s+/).slice(5).join(" ");
  return {
    path,
    rssKb: field("Rss"),
    sharedCleanKb: field("Shared_Clean"),
    lockedKb: field("Locked"),
  };
}

/** The address of a view's first byte. */
function addressOf(bytes: Uint8Array): bigint {
  return BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(bytes)));
}

/** Reads one byte per page so every page of `bytes` is resident and mapped. */
function touchPages(bytes: Uint8Array): number {
  let sum = 0;
  for (let offset = 0; offset < bytes.length; offset += 4096) sum += bytes[offset];
  return sum;
}

// Deterministic: the parent maps and touches every page, the child maps and touches every
// page and then waits; while it waits each page has two mappers, so the parent's mapping is
// all Shared_Clean. The test also proves `bytes` is the mapping itself (its address is the
// file's mapping in smaps), not a copy.
Deno.test("mapFile() pages are shared with another process that maps the file", async () => {
  const path = testdataPath("models/stories260K.gguf");
  const mapped = mapFile(path);
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      `
      import { mapFile } from ${
        JSON.stringify(new URL("../backends/native/mapped_file.ts", import.meta.url).href)
      };
      const mapped = mapFile(${JSON.stringify(path)});
      let sum = 0;
      for (let offset = 0; offset < mapped.bytes.length; offset += 4096) sum += mapped.bytes[offset];
      console.log("ready " + sum);
      for await (const _ of Deno.stdin.readable) { /* wait for the parent to close stdin */ }
      mapped.close();
    `,
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  try {
    const sum = touchPages(mapped.bytes);
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    const { value: line } = await reader.read();
    strictEqual(line?.trim(), `ready ${sum}`);

    const smaps = smapsOf(addressOf(mapped.bytes));
    const pageCount = Math.ceil(mapped.byteLength / 4096);
    strictEqual(smaps.path, Deno.realPathSync(path));
    strictEqual(smaps.rssKb, pageCount * 4);
    strictEqual(smaps.sharedCleanKb, pageCount * 4);
    reader.releaseLock();
  } finally {
    await child.stdin.close();
    await child.stdout.cancel().catch(() => {});
    strictEqual((await child.status).code, 0);
    mapped.close();
  }
});
