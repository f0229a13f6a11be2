import { deepStrictEqual, rejects, strictEqual } from "node:assert";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { downloadFile } from "./download_file.ts";

const PAYLOAD = new Uint8Array(300_000).map((_, i) => (i * 7 + 3) % 256);
const PAYLOAD_SHA = createHash("sha256").update(PAYLOAD).digest("hex");

/** A local server for PAYLOAD that honours Range or ignores it. */
function _serve(mode: "range" | "no-range") {
  const requests: (string | null)[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (request) => {
    const range = request.headers.get("range");
    requests.push(range);
    const match = /^bytes=(\d+)-$/.exec(range ?? "");
    if (mode === "range" && match !== null) {
      const start = Number(match[1]);
      if (start >= PAYLOAD.length) return new Response(null, { status: 416 });
      return new Response(PAYLOAD.slice(start), {
        status: 206,
        headers: { "content-range": `bytes ${start}-${PAYLOAD.length - 1}/${PAYLOAD.length}` },
      });
    }
    return new Response(PAYLOAD);
  });
  const url = `http://127.0.0.1:${server.addr.port}/model.gguf`;
  return { url, requests, [Symbol.asyncDispose]: () => server.shutdown() };
}

/**
 * A raw TCP server that promises PAYLOAD (Content-Length) but closes the connection after
 * 100 000 bytes: what a dropped connection looks like to the client.
 */
function _serveCut() {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const done = (async () => {
    for await (const connection of listener) {
      await connection.read(new Uint8Array(65536)); // the request; its content does not matter
      const head = `HTTP/1.1 200 OK\r\ncontent-length: ${PAYLOAD.length}\r\n\r\n`;
      await connection.write(new TextEncoder().encode(head));
      for (let at = 0; at < 100_000;) at += await connection.write(PAYLOAD.subarray(at, 100_000));
      connection.close();
    }
  })();
  const url = `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}/model.gguf`;
  return {
    url,
    [Symbol.asyncDispose]: async () => {
      listener.close();
      await done.catch(() => {});
    },
  };
}

async function _tempDir(): Promise<AsyncDisposable & { path: string }> {
  const path = await Deno.makeTempDir();
  return { path, [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }) };
}

Deno.test("downloadFile() resumes a .partial with Range when the server supports it", async () => {
  await using server = _serve("range");
  await using dir = await _tempDir();
  const partial = join(dir.path, "model.gguf.partial");
  await Deno.writeFile(partial, PAYLOAD.slice(0, 120_000));
  const result = await downloadFile(server.url, partial, { expectedBytes: PAYLOAD.length });
  deepStrictEqual(server.requests, ["bytes=120000-"]);
  deepStrictEqual(result, { byteLength: 300_000, sha256: PAYLOAD_SHA, resumedBytes: 120_000 });
  deepStrictEqual(await Deno.readFile(partial), PAYLOAD);
});

Deno.test("downloadFile() starts over when the server ignores Range", async () => {
  await using server = _serve("no-range");
  await using dir = await _tempDir();
  const partial = join(dir.path, "model.gguf.partial");
  await Deno.writeFile(partial, new Uint8Array(120_000).fill(0xee)); // wrong bytes, replaced
  const result = await downloadFile(server.url, partial, { expectedBytes: PAYLOAD.length });
  deepStrictEqual(server.requests, ["bytes=120000-"]);
  deepStrictEqual(result, { byteLength: 300_000, sha256: PAYLOAD_SHA, resumedBytes: 0 });
  deepStrictEqual(await Deno.readFile(partial), PAYLOAD);
});

Deno.test("downloadFile() keeps what arrived when the server closes mid-body, then resumes", async () => {
  await using dir = await _tempDir();
  const partial = join(dir.path, "model.gguf.partial");
  {
    await using cut = _serveCut();
    await rejects(downloadFile(cut.url, partial), (error: Error) => {
      strictEqual(error.name, "PullError");
      strictEqual(error.message.startsWith(`Cannot download "${cut.url}": `), true);
      strictEqual(
        error.message.endsWith(`after 100000 bytes (kept in "${partial}" to resume)`),
        true,
      );
      return true;
    });
  }
  deepStrictEqual(await Deno.readFile(partial), PAYLOAD.slice(0, 100_000));
  await using server = _serve("range");
  const result = await downloadFile(server.url, partial, { expectedBytes: PAYLOAD.length });
  deepStrictEqual(server.requests, ["bytes=100000-"]);
  strictEqual(result.sha256, PAYLOAD_SHA);
});

Deno.test("downloadFile() drops a partial the server calls unsatisfiable and starts over", async () => {
  await using server = _serve("range");
  await using dir = await _tempDir();
  const partial = join(dir.path, "model.gguf.partial");
  await Deno.writeFile(partial, new Uint8Array(400_000)); // longer than the resource
  const result = await downloadFile(server.url, partial);
  deepStrictEqual(server.requests, ["bytes=400000-", null]);
  deepStrictEqual(result, { byteLength: 300_000, sha256: PAYLOAD_SHA, resumedBytes: 0 });
});

Deno.test("downloadFile() does not ask again for a partial that is already complete", async () => {
  await using server = _serve("range");
  await using dir = await _tempDir();
  const partial = join(dir.path, "model.gguf.partial");
  await Deno.writeFile(partial, PAYLOAD);
  const result = await downloadFile(server.url, partial, { expectedBytes: PAYLOAD.length });
  deepStrictEqual(server.requests, []);
  strictEqual(result.sha256, PAYLOAD_SHA);
});

Deno.test("downloadFile() names the URL and the HTTP status", async () => {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => new Response("no", { status: 404, statusText: "Not Found" }),
  );
  await using dir = await _tempDir();
  const url = `http://127.0.0.1:${server.addr.port}/missing.gguf`;
  await rejects(downloadFile(url, join(dir.path, "x.partial")), {
    name: "PullError",
    message: `Cannot download "${url}": HTTP 404 Not Found`,
  });
  await server.shutdown();
});

Deno.test("downloadFile() reports progress with the resumed offset", async () => {
  await using server = _serve("range");
  await using dir = await _tempDir();
  const partial = join(dir.path, "model.gguf.partial");
  await Deno.writeFile(partial, PAYLOAD.slice(0, 50_000));
  const samples: [number, number | undefined, number][] = [];
  await downloadFile(server.url, partial, {
    onProgress: (done, total, start) => samples.push([done, total, start]),
  });
  deepStrictEqual(samples.at(-1), [300_000, 300_000, 50_000]);
  strictEqual(samples.every(([done], i) => i === 0 || done > samples[i - 1][0]), true);
});
