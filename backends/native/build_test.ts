import { rejects, strictEqual } from "node:assert";
import { join } from "node:path";
import { findZig, ZIG_VERSION } from "./build.ts";

function fakeZig(dir: string, version: string): string {
  const path = join(dir, "zig");
  Deno.writeTextFileSync(path, `#!/bin/sh\necho ${version}\n`);
  Deno.chmodSync(path, 0o755);
  return path;
}

Deno.test("findZig() accepts $ZIG when it is the pinned version", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "zeno-zig-" });
  try {
    const zig = await findZig({ zigEnv: fakeZig(dir, ZIG_VERSION) });
    strictEqual(zig.version, "0.16.0");
    strictEqual(zig.source, "$ZIG");
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("findZig() names the wrong version of $ZIG and the install command", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "zeno-zig-" });
  try {
    await rejects(findZig({ zigEnv: fakeZig(dir, "0.15.1") }), {
      name: "NativeLibraryError",
      message: "Cannot build the native library: it needs Zig 0.16.0, but found 0.15.1 ($ZIG); " +
        "install the pinned one with `python3 -m pip install ziglang==0.16.0`",
    });
    await rejects(findZig({ zigEnv: join(dir, "no-such-zig") }), {
      name: "NativeLibraryError",
      message: `Cannot build the native library: it needs Zig 0.16.0, but $ZIG ` +
        `("${join(dir, "no-such-zig")}") does not run; install the pinned one with ` +
        "`python3 -m pip install ziglang==0.16.0`",
    });
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("findZig() without $ZIG finds the pinned Zig of this machine", async () => {
  const zig = await findZig({ zigEnv: undefined });
  strictEqual(zig.version, ZIG_VERSION);
});
