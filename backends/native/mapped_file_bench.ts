/**
 * Opening a model by mapping versus reading: `deno bench -A backends/native/mapped_file_bench.ts`.
 * Mapping costs a few system calls whatever the size; reading copies every byte into the heap.
 */

import { testdataPath } from "../../tests/testdata.ts";
import { loadNativeLibrary } from "./library.ts";
import { mapFile } from "./mapped_file.ts";

const path = testdataPath("models/stories260K.gguf");
const { symbols } = loadNativeLibrary();

Deno.bench(
  "mapFile() + close() of stories260K.gguf (1.2 MB)",
  { group: "open", baseline: true },
  () => {
    mapFile(path).close();
  },
);

Deno.bench("Deno.readFileSync() of stories260K.gguf (1.2 MB)", { group: "open" }, () => {
  Deno.readFileSync(path);
});

Deno.bench("mapFile() + touch every page + close()", { group: "touch" }, () => {
  const mapped = mapFile(path);
  let sum = 0;
  for (let offset = 0; offset < mapped.bytes.length; offset += 4096) sum += mapped.bytes[offset];
  mapped.close();
  if (sum < 0) throw new Error("unreachable");
});

Deno.bench("zeno_abi_version() FFI call", { group: "ffi" }, () => {
  symbols.zeno_abi_version();
});
