import { deepStrictEqual, equal, match, ok, rejects, throws } from "node:assert";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { NativeLibraryError } from "../../core/errors.ts";
import { acquireNativeLibrary, findNativeLibrarySync, ZENO_VERSION } from "./acquire.ts";
import { loadNativeLibrary, nativeLibraryFileName } from "./library.ts";
import { testdataPath } from "../../tests/testdata.ts";

// A stand-in for the registry and the release host on loopback: the package's files under
// /pkg/<version>/ with /pkg/<version>_meta.json listing them, and releases under /rel/v<version>/.
const ROOT = new URL("../../", import.meta.url).pathname;
const BUILT_DIR = join(ROOT, "zig/zig-out/lib");
const ARCH_PREFIX = `libzeno-${Deno.build.arch}-`;

function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** The zig/ files the package publishes, as "/zig/…" paths (no outputs, caches or testdata/). */
function zigSourcePaths(dir = join(ROOT, "zig")): string[] {
  const paths: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const skipped = ["zig-out", "testdata"].includes(entry.name) || entry.name.startsWith(".");
    if (skipped) continue; // deno.json's publish.exclude leaves testdata/ out
    const full = join(dir, entry.name);
    if (entry.isDirectory()) paths.push(...zigSourcePaths(full));
    else paths.push(`/${relative(ROOT, full)}`);
  }
  return paths;
}

function builtLibraryNames(): string[] {
  const names = readdirSync(BUILT_DIR).filter((name) => name.startsWith(ARCH_PREFIX)).sort();
  if (!names.includes(nativeLibraryFileName("baseline"))) {
    throw new Error(
      `${join(BUILT_DIR, nativeLibraryFileName("baseline"))} is missing: run \`deno task build\``,
    );
  }
  return names;
}

interface FakeHosts extends AsyncDisposable {
  moduleUrl: string;
  releaseUrl: string;
  requests: string[];
}

/** `sums` replaces the SHA256SUMS text; `missingRelease` answers 404 for every release file. */
function serveFakeHosts(options: { sums?: string; missingRelease?: boolean } = {}): FakeHosts {
  const requests: string[] = [];
  const names = builtLibraryNames();
  const sums = options.sums ??
    names.map((name) => `${sha256Hex(readFileSync(join(BUILT_DIR, name)))}  ${name}\n`).join("");
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (request) => {
    const path = new URL(request.url).pathname;
    requests.push(path);
    const version = `/pkg/${ZENO_VERSION}`;
    if (path === `${version}_meta.json`) {
      const manifest: Record<string, { size: number; checksum: string }> = {};
      for (const file of zigSourcePaths()) {
        const bytes = readFileSync(join(ROOT, file));
        manifest[file] = { size: bytes.length, checksum: `sha256-${sha256Hex(bytes)}` };
      }
      return Response.json({ manifest });
    }
    const file = join(ROOT, path.slice(version.length));
    if (path.startsWith(`${version}/`) && existsSync(file) && statSync(file).isFile()) {
      return new Response(readFileSync(file)); // the package's files, as the registry serves them
    }
    const release = `/rel/v${ZENO_VERSION}/`;
    if (path.startsWith(release) && !options.missingRelease) {
      const name = path.slice(release.length);
      if (name === "SHA256SUMS") return new Response(sums);
      if (names.includes(name)) return new Response(readFileSync(join(BUILT_DIR, name)));
    }
    return new Response("not found", { status: 404 });
  });
  const origin = `http://127.0.0.1:${server.addr.port}`;
  return {
    moduleUrl: `${origin}/pkg/${ZENO_VERSION}/backends/native/acquire.ts`,
    releaseUrl: `${origin}/rel/`,
    requests,
    async [Symbol.asyncDispose]() {
      await server.shutdown();
    },
  };
}

/** Runs `body` with $ZENO_LIB_DIR unset (CI may set it) and a fresh cache directory. */
async function withCleanCache(body: (cacheDir: string) => Promise<void>): Promise<void> {
  const saved = Deno.env.get("ZENO_LIB_DIR");
  Deno.env.delete("ZENO_LIB_DIR");
  const cacheDir = await Deno.makeTempDir({ prefix: "zeno-acquire-" });
  try {
    await body(cacheDir);
  } finally {
    if (saved !== undefined) Deno.env.set("ZENO_LIB_DIR", saved);
    await Deno.remove(cacheDir, { recursive: true });
  }
}

const NO_ZIG = "/nonexistent/zig";

Deno.test("acquireNativeLibrary() uses libDir as given, and a checkout's zig-out without building", async () => {
  deepStrictEqual(await acquireNativeLibrary({ libDir: "/opt/zeno/lib" }), {
    libDir: "/opt/zeno/lib",
    source: "env",
  });
  await withCleanCache(async () => {
    const moduleUrl = new URL("./acquire.ts", import.meta.url).href;
    deepStrictEqual(await acquireNativeLibrary({ moduleUrl, zig: NO_ZIG }), {
      libDir: BUILT_DIR,
      source: "checkout",
    });
  });
});

Deno.test("acquireNativeLibrary() downloads every library of this arch, checked, then hits the cache", async () => {
  await withCleanCache(async (cacheDir) => {
    await using hosts = serveFakeHosts();
    const options = {
      moduleUrl: hosts.moduleUrl,
      releaseUrl: hosts.releaseUrl,
      cacheDir,
      zig: NO_ZIG,
    };
    const first = await acquireNativeLibrary(options);
    deepStrictEqual(first, { libDir: join(cacheDir, "lib"), source: "download" });
    const names = builtLibraryNames();
    deepStrictEqual(readdirSync(first.libDir).sort(), names);
    for (const name of names) {
      equal(
        sha256Hex(readFileSync(join(first.libDir, name))),
        sha256Hex(readFileSync(join(BUILT_DIR, name))),
      );
    }
    const native = loadNativeLibrary({ libDir: first.libDir });
    equal(native.variant, loadNativeLibrary({ libDir: BUILT_DIR }).variant);
    equal(native.path, join(first.libDir, nativeLibraryFileName(native.variant)));

    const requestCount = hosts.requests.length;
    deepStrictEqual(await acquireNativeLibrary(options), { libDir: first.libDir, source: "cache" });
    deepStrictEqual(findNativeLibrarySync(options), { libDir: first.libDir, source: "cache" });
    equal(hosts.requests.length, requestCount);
  });
});

Deno.test("acquireNativeLibrary() refuses a download whose sha256 differs and names all three ways", async () => {
  await withCleanCache(async (cacheDir) => {
    const baseline = nativeLibraryFileName("baseline");
    await using hosts = serveFakeHosts({ sums: `${"0".repeat(64)}  ${baseline}\n` });
    const options = {
      moduleUrl: hosts.moduleUrl,
      releaseUrl: hosts.releaseUrl,
      cacheDir,
      zig: NO_ZIG,
    };
    await acquireNativeLibrary(options).then(
      () => {
        throw new Error("expected a NativeLibraryError");
      },
      (error: Error) => {
        ok(error instanceof NativeLibraryError);
        const base = `${hosts.releaseUrl.replace(/\/$/, "")}/v${ZENO_VERSION}`;
        equal(
          error.message,
          `Cannot get the native library of zeno ${ZENO_VERSION} for ${Deno.build.os}-${Deno.build.arch}: ` +
            `ZENO_LIB_DIR is not set (set it to a directory that holds ${baseline}); building it ` +
            `failed (Cannot build the native library: it needs Zig 0.16.0, but $ZIG ("${NO_ZIG}") ` +
            `does not run; install the pinned one with \`python3 -m pip install ziglang==0.16.0\`); ` +
            `downloading it from ${base}/ failed ("${base}/${baseline}" has sha256 ` +
            `${sha256Hex(readFileSync(join(BUILT_DIR, baseline)))}, expected ${"0".repeat(64)})`,
        );
      },
    );
    deepStrictEqual(readdirSync(cacheDir), [], "nothing is left in the cache");
  });
});

Deno.test("acquireNativeLibrary() without a release names the missing SHA256SUMS", async () => {
  await withCleanCache(async (cacheDir) => {
    await using hosts = serveFakeHosts({ missingRelease: true });
    const options = {
      moduleUrl: hosts.moduleUrl,
      releaseUrl: hosts.releaseUrl,
      cacheDir,
      zig: NO_ZIG,
    };
    await rejects(acquireNativeLibrary(options), (error: Error) => {
      ok(error instanceof NativeLibraryError);
      match(error.message, /^Cannot get the native library of zeno .*: ZENO_LIB_DIR is not set /);
      match(
        error.message,
        /building it failed \(Cannot build the native library: it needs Zig 0\.16\.0/,
      );
      match(error.message, /SHA256SUMS": HTTP 404\)$/);
      return true;
    });
    throws(() => findNativeLibrarySync(options), (error: Error) => {
      equal(
        error.message,
        `Cannot get the native library of zeno ${ZENO_VERSION} for ${Deno.build.os}-${Deno.build.arch}: ` +
          `it is not in ${
            join(cacheDir, "lib")
          } yet; call \`await acquireNativeLibrary()\` once to ` +
          `build it with Zig 0.16.0 or download it, or set ZENO_LIB_DIR to a directory that holds ` +
          `${nativeLibraryFileName("baseline")}`,
      );
      return true;
    });
  });
});

Deno.test("acquireNativeLibrary() builds the package's zig/ sources with Zig into the cache", async () => {
  await withCleanCache(async (cacheDir) => {
    await using hosts = serveFakeHosts({ missingRelease: true });
    const lines: string[] = [];
    const acquired = await acquireNativeLibrary({
      moduleUrl: hosts.moduleUrl,
      releaseUrl: hosts.releaseUrl,
      cacheDir,
      buildVariant: "baseline", // one variant keeps the test at ~40 s
      onStatus: (line) => lines.push(line),
    });
    deepStrictEqual(acquired, { libDir: join(cacheDir, "lib"), source: "build" });
    deepStrictEqual(readdirSync(acquired.libDir), [nativeLibraryFileName("baseline")]);
    const native = loadNativeLibrary({ libDir: acquired.libDir, variant: "baseline" });
    equal(native.variant, "baseline");
    equal(lines.length, 2);
    match(lines[0], new RegExp(`^fetching ${zigSourcePaths().length} zig/ files from `));
    ok(!hosts.requests.some((path) => path.startsWith("/rel/")), "no download was tried");
    ok(!existsSync(join(cacheDir, "src")), "the build directory is removed");
  });
});

Deno.test("ZENO_VERSION is deno.json's version (the cache and release URLs use it)", () => {
  const config = JSON.parse(readFileSync(join(ROOT, "deno.json"), "utf8"));
  equal(config.name, "@zeno/zeno");
  equal(ZENO_VERSION, config.version);
});

/**
 * A fresh DENO_DIR for the child whose npm cache is ours (no npm download), so the modules it
 * fetches from the loopback server do not pile up in our cache.
 */
async function childDenoDir(parent: string): Promise<string> {
  const output = await new Deno.Command(Deno.execPath(), { args: ["info", "--json"] }).output();
  const ours = JSON.parse(new TextDecoder().decode(output.stdout)).denoDir;
  const dir = join(parent, "deno");
  await Deno.mkdir(dir);
  await Deno.symlink(join(ours, "npm"), join(dir, "npm"));
  return dir;
}

Deno.test("a program importing zeno over HTTP downloads the library on first use, then runs from the cache", async () => {
  await withCleanCache(async (cacheHome) => {
    await using hosts = serveFakeHosts();
    const packageMod = new URL("../../mod.ts", hosts.moduleUrl).href;
    const script = join(cacheHome, "main.ts");
    await Deno.writeTextFile(
      script,
      `import { loadModel } from "${packageMod}";\n` +
        `const model = await loadModel(${
          JSON.stringify(testdataPath("models/stories260K.gguf"))
        });\n` +
        `const text = await model.createSession().generate("Once upon a time", { temperature: 0, maxTokens: 8 });\n` +
        `console.log(model.backend.device.name.startsWith("cpu-"), JSON.stringify(text));\n` +
        `model.dispose();\n`,
    );
    const env = {
      PATH: Deno.env.get("PATH") ?? "",
      HOME: Deno.env.get("HOME") ?? "",
      DENO_DIR: await childDenoDir(cacheHome),
      XDG_CACHE_HOME: cacheHome, // where the library cache goes: <cacheHome>/zeno/lib/…
      ZIG: NO_ZIG,
      ZENO_LIB_URL: hosts.releaseUrl,
      NO_COLOR: "1",
    };
    const run = async () => {
      const output = await new Deno.Command(Deno.execPath(), {
        // --no-lock: the package comes from a random loopback port; it must not enter deno.lock.
        args: ["run", "-A", "--no-lock", "--config", join(ROOT, "deno.json"), script],
        clearEnv: true,
        env,
        stdout: "piped",
        stderr: "piped",
      }).output();
      const stderr = new TextDecoder().decode(output.stderr);
      equal(output.code, 0, stderr);
      return new TextDecoder().decode(output.stdout);
    };
    equal(await run(), 'true ", there was a little girl"\n'); // the stories260K greedy golden
    const libDir = join(
      cacheHome,
      "zeno",
      "lib",
      ZENO_VERSION,
      `${Deno.build.os}-${Deno.build.arch}`,
      "lib",
    );
    deepStrictEqual(readdirSync(libDir).sort(), builtLibraryNames());
    const releaseRequests = hosts.requests.filter((path) => path.startsWith("/rel/")).length;
    equal(releaseRequests, 1 + builtLibraryNames().length); // SHA256SUMS, then each library
    equal(await run(), 'true ", there was a little girl"\n');
    equal(hosts.requests.filter((path) => path.startsWith("/rel/")).length, releaseRequests);
  });
});
