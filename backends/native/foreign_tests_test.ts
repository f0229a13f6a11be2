import { deepStrictEqual, strictEqual, throws } from "node:assert";
import { mkdirSync, readlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { foreignTestSetup } from "./foreign_tests.ts";

const FOREIGN_ARCH = Deno.build.arch === "x86_64" ? "aarch64" : "x86_64";
const TARGET = `${FOREIGN_ARCH}-linux-gnu`;

function withTempDir(run: (dir: string) => void): void {
  const dir = Deno.makeTempDirSync({ prefix: "zeno-foreign-" });
  try {
    run(dir);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

Deno.test("foreignTestSetup() needs nothing for this machine's architecture", () => {
  strictEqual(
    foreignTestSetup(`${Deno.build.arch}-linux-gnu`, { linkDir: "/nonexistent" }),
    undefined,
  );
});

Deno.test("foreignTestSetup() links qemu-<arch>-static and points Zig at the glibc", () => {
  withTempDir((dir) => {
    const bin = join(dir, "bin");
    mkdirSync(bin);
    writeFileSync(join(bin, `qemu-${FOREIGN_ARCH}-static`), "");
    mkdirSync(join(dir, "usr", TARGET, "lib"), { recursive: true });
    writeFileSync(join(dir, "usr", TARGET, "lib", "libc.so.6"), "");
    const linkDir = join(dir, "links");
    const setup = foreignTestSetup(TARGET, {
      pathEnv: `${bin}:/nonexistent`,
      libcRuntimesDir: join(dir, "usr"),
      linkDir,
    });
    deepStrictEqual(setup, {
      flags: ["-fqemu", "--libc-runtimes", join(dir, "usr")],
      pathEnv: `${linkDir}:${bin}:/nonexistent`,
    });
    strictEqual(
      readlinkSync(join(linkDir, `qemu-${FOREIGN_ARCH}`)),
      join(bin, `qemu-${FOREIGN_ARCH}-static`),
    );
  });
});

Deno.test("foreignTestSetup() names what is missing and the packages to install", () => {
  withTempDir((dir) => {
    const packages = `Debian's qemu-user-static and libc6-${
      FOREIGN_ARCH === "aarch64" ? "arm64" : "amd64"
    }-cross`;
    throws(() => foreignTestSetup(TARGET, { pathEnv: dir, linkDir: dir }), {
      name: "NativeLibraryError",
      message:
        `Cannot run the native tests for "${TARGET}": qemu-${FOREIGN_ARCH} is not on PATH; install ${packages}`,
    });
    writeFileSync(join(dir, `qemu-${FOREIGN_ARCH}`), "");
    const libc = join(dir, TARGET, "lib", "libc.so.6");
    throws(() => foreignTestSetup(TARGET, { pathEnv: dir, libcRuntimesDir: dir, linkDir: dir }), {
      name: "NativeLibraryError",
      message:
        `Cannot run the native tests for "${TARGET}": ${libc} does not exist; install ${packages}`,
    });
  });
});
