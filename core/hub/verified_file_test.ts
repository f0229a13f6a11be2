import { deepStrictEqual } from "node:assert";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { sidecarPath, verifyCachedFile } from "./verified_file.ts";

Deno.test("verifyCachedFile() hashes once, then trusts the sidecar while size and mtime hold", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "m.gguf");
  const bytes = new TextEncoder().encode("GGUF and some bytes");
  const sha256 = createHash("sha256").update(bytes).digest("hex");
  await Deno.writeFile(path, bytes);
  deepStrictEqual(await verifyCachedFile(path, { sha256, byteLength: bytes.length }), {
    ok: true,
    sha256,
  });
  // A forged record is believed: proof that the file is not hashed again.
  const record = JSON.parse(await Deno.readTextFile(sidecarPath(path)));
  await Deno.writeTextFile(
    sidecarPath(path),
    JSON.stringify({ ...record, sha256: "0".repeat(64) }),
  );
  deepStrictEqual(await verifyCachedFile(path, { sha256, byteLength: bytes.length }), {
    ok: false,
    reason: `its sha256 is ${"0".repeat(64)}, expected ${sha256}`,
  });
  // Touching the file invalidates the record.
  await Deno.utime(path, new Date(), new Date(Date.now() + 5000));
  deepStrictEqual(await verifyCachedFile(path, { sha256 }), { ok: true, sha256 });
  deepStrictEqual(await verifyCachedFile(path, { byteLength: 3 }), {
    ok: false,
    reason: `its size is ${bytes.length} bytes, expected 3`,
  });
  await Deno.remove(dir, { recursive: true });
});
