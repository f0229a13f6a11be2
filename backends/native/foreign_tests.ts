/**
 * Running the Zig unit tests of another architecture (aarch64 on an x86-64 machine) under
 * QEMU user-mode emulation. `zig build test -fqemu` runs `qemu-<arch>` from PATH, and because
 * the library links glibc, `--libc-runtimes <dir>` must hold `<dir>/<arch>-linux-gnu/lib` (the
 * target's glibc). Debian ships both: `qemu-user-static` (as `qemu-<arch>-static`) and
 * `libc6-<debian arch>-cross` (in `/usr/<arch>-linux-gnu`). Without them Zig would skip the
 * tests and still succeed, so we refuse instead.
 *
 * @module
 */

import { existsSync, mkdirSync, symlinkSync } from "node:fs";
import { delimiter, join } from "node:path";
import { NativeLibraryError } from "../../core/errors.ts";

/** Extra `zig build` flags and the PATH the build must run with. */
export interface ForeignTestSetup {
  flags: string[];
  pathEnv: string;
}

/** Options of {@linkcode foreignTestSetup}; the defaults are this machine's. */
export interface ForeignTestOptions {
  /** The PATH to search for QEMU (default `$PATH`). */
  pathEnv?: string;
  /** Where `<arch>-linux-gnu/lib/libc.so.6` is looked for (default `/usr`). */
  libcRuntimesDir?: string;
  /** A directory for a `qemu-<arch>` link when only `qemu-<arch>-static` exists. */
  linkDir: string;
}

const DEBIAN_ARCH: Record<string, string> = { aarch64: "arm64", x86_64: "amd64" };

/**
 * What `zig build test -Dtarget=<target>` needs to run the tests of `target` here, or
 * undefined when `target` is this machine's architecture.
 *
 * @throws NativeLibraryError naming the missing emulator or glibc and the Debian packages
 */
export function foreignTestSetup(
  target: string,
  options: ForeignTestOptions,
): ForeignTestSetup | undefined {
  const arch = target.split("-")[0];
  if (arch === Deno.build.arch || arch === "native") return undefined;
  const pathEnv = options.pathEnv ?? Deno.env.get("PATH") ?? "";
  const libcDir = options.libcRuntimesDir ?? "/usr";
  const action = `Cannot run the native tests for "${target}"`;
  const packages = `Debian's qemu-user-static and libc6-${DEBIAN_ARCH[arch] ?? arch}-cross`;
  const dirs = pathEnv.split(delimiter).filter((dir) => dir !== "");
  let qemuDir = dirs.find((dir) => existsSync(join(dir, `qemu-${arch}`)));
  if (qemuDir === undefined) {
    const staticDir = dirs.find((dir) => existsSync(join(dir, `qemu-${arch}-static`)));
    if (staticDir === undefined) {
      throw new NativeLibraryError(`${action}: qemu-${arch} is not on PATH; install ${packages}`);
    }
    qemuDir = options.linkDir;
    _linkQemu(join(staticDir, `qemu-${arch}-static`), join(qemuDir, `qemu-${arch}`));
  }
  const libc = join(libcDir, `${arch}-linux-gnu`, "lib", "libc.so.6");
  if (!existsSync(libc)) {
    throw new NativeLibraryError(`${action}: ${libc} does not exist; install ${packages}`);
  }
  return {
    flags: ["-fqemu", "--libc-runtimes", libcDir],
    pathEnv: [qemuDir, ...dirs].join(delimiter),
  };
}

function _linkQemu(target: string, link: string): void {
  mkdirSync(join(link, ".."), { recursive: true });
  if (!existsSync(link)) symlinkSync(target, link);
}
