import { strictEqual } from "node:assert";
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { posix, resolve } from "node:path";
import { basename, dirname, homeDir, joinPath, pathExistsSync, resolvePath } from "./paths.ts";

const PATHS = [
  "",
  ".",
  "..",
  "/",
  "//",
  "//a",
  "a//b",
  "a",
  "a/",
  "/a",
  "/a/",
  "a/b",
  "/a/b/c.gguf",
  "/a//b///c.gguf.partial",
  "a/b/../c",
  "../a/./b",
  "/../a",
];

Deno.test("dirname() and basename() agree with node:path on POSIX paths", () => {
  for (const path of PATHS) {
    strictEqual(dirname(path), posix.dirname(path), `dirname(${JSON.stringify(path)})`);
    strictEqual(basename(path), posix.basename(path), `basename(${JSON.stringify(path)})`);
  }
  strictEqual(basename("/m/x.gguf.partial", ".partial"), "x.gguf");
  strictEqual(basename("/m/.partial", ".partial"), ".partial");
});

Deno.test("joinPath() normalizes as node:path's posix.join", () => {
  const cases: string[][] = [
    [],
    [""],
    ["/cache/", "zeno", "../lib", "x.so"],
    ["a", "", "b/"],
    ["/", "..", "a"],
    ["..", "..", "a"],
    ["a", "..", ".."],
    ["/home/u", ".cache", "zeno", "models"],
    ["zig/zig-out/lib/", "libzeno-x86_64-baseline.so"],
  ];
  for (const segments of cases) {
    strictEqual(joinPath(...segments), posix.join(...segments), JSON.stringify(segments));
  }
  strictEqual(joinPath("/cache/", "zeno", "../lib", "x.so"), "/cache/lib/x.so");
});

Deno.test("resolvePath() makes a path absolute against the working directory", () => {
  for (const path of ["x.gguf", "./a/../x.gguf", "/tmp//m/x.gguf", ".."]) {
    strictEqual(resolvePath(path), resolve(path), path);
  }
});

Deno.test("pathExistsSync() and homeDir() agree with node:fs and node:os", () => {
  const here = new URL(import.meta.url).pathname;
  strictEqual(pathExistsSync(here), true);
  strictEqual(pathExistsSync(dirname(here)), existsSync(dirname(here)));
  strictEqual(pathExistsSync(`${here}.missing`), false);
  strictEqual(homeDir(), homedir());
});
