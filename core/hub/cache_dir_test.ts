import { strictEqual } from "node:assert";
import { modelCacheDir } from "./cache_dir.ts";

function _env(values: Record<string, string>) {
  return (name: string) => values[name];
}

Deno.test("modelCacheDir() follows ZENO_MODELS, then the platform's cache directory", () => {
  const cases: [Record<string, string>, typeof Deno.build.os, string][] = [
    [{ ZENO_MODELS: "/m", XDG_CACHE_HOME: "/x" }, "linux", "/m"],
    [{ XDG_CACHE_HOME: "/x" }, "linux", "/x/zeno/models"],
    [{ XDG_CACHE_HOME: "relative" }, "linux", "/home/u/.cache/zeno/models"],
    [{}, "linux", "/home/u/.cache/zeno/models"],
    [{ XDG_CACHE_HOME: "/x" }, "darwin", "/home/u/Library/Caches/zeno/models"],
    [
      { LOCALAPPDATA: "C:\\Users\\u\\AppData\\Local" },
      "windows",
      "C:\\Users\\u\\AppData\\Local\\zeno\\models",
    ],
  ];
  for (const [values, os, expected] of cases) {
    strictEqual(
      modelCacheDir({ env: _env(values), os, homeDir: "/home/u" }),
      expected,
      `${os} ${JSON.stringify(values)}`,
    );
  }
});
