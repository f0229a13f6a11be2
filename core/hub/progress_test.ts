import { deepStrictEqual, strictEqual } from "node:assert";
import { createProgressReporter, formatDuration, formatProgress } from "./progress.ts";

Deno.test("formatProgress() writes a plain line: percent, sizes, speed, ETA", () => {
  strictEqual(
    formatProgress({ label: "m.gguf", doneBytes: 49.2e6, totalBytes: 98.4e6, elapsedMs: 4000 }),
    "m.gguf: 50% 49.2/98.4 MB 12.3 MB/s ETA 4s",
  );
});

Deno.test("formatProgress() draws a bar for a terminal and counts speed after the resume point", () => {
  strictEqual(
    formatProgress(
      { label: "m.gguf", doneBytes: 75e6, startBytes: 50e6, totalBytes: 100e6, elapsedMs: 2500 },
      { bar: true },
    ),
    "m.gguf [##################......]  75%  75.0/100.0 MB  10.0 MB/s  ETA 3s",
  );
});

Deno.test("formatProgress() leaves out percent and ETA when the total is unknown", () => {
  strictEqual(formatProgress({ label: "x", doneBytes: 3e6, elapsedMs: 0 }), "x: 3.0 MB -- MB/s");
  strictEqual(
    formatProgress({ label: "x", doneBytes: 0, totalBytes: 10e6, elapsedMs: 0 }),
    "x: 0% 0.0/10.0 MB -- MB/s ETA --",
  );
});

Deno.test("formatDuration() switches units at a minute and an hour", () => {
  deepStrictEqual([0.4, 59, 65, 3599, 3725].map(formatDuration), [
    "0s",
    "59s",
    "1m05s",
    "59m59s",
    "1h02m",
  ]);
});

Deno.test("createProgressReporter() prints one plain line per 10 % step and a final line", () => {
  const lines: string[] = [];
  let nowMs = 0;
  const reporter = createProgressReporter({ label: "f", totalBytes: 100e6 }, {
    write: (text) => lines.push(text),
    isTerminal: false,
    now: () => nowMs,
  });
  for (const mb of [1, 5, 12, 15, 31, 99.9]) {
    nowMs += 1000;
    reporter.update(mb * 1e6);
  }
  reporter.finish();
  deepStrictEqual(lines, [
    "f: 1% 1.0/100.0 MB 1.0 MB/s ETA 1m39s\n",
    "f: 12% 12.0/100.0 MB 4.0 MB/s ETA 22s\n",
    "f: 31% 31.0/100.0 MB 6.2 MB/s ETA 11s\n",
    "f: 99% 99.9/100.0 MB 16.6 MB/s ETA 0s\n",
  ]);
});

Deno.test("createProgressReporter() redraws one terminal line at most every 100 ms", () => {
  const writes: string[] = [];
  let nowMs = 0;
  const reporter = createProgressReporter({ label: "f", totalBytes: 4e6 }, {
    write: (text) => writes.push(text),
    isTerminal: true,
    now: () => nowMs,
  });
  reporter.update(1e6);
  nowMs = 50;
  reporter.update(2e6); // too soon: skipped
  nowMs = 1000;
  reporter.update(4e6);
  reporter.finish();
  deepStrictEqual(writes, [
    "\rf [######..................]  25%  1.0/4.0 MB  -- MB/s  ETA --\x1b[K",
    "\rf [########################] 100%  4.0/4.0 MB  4.0 MB/s  ETA 0s\x1b[K",
    "\rf [########################] 100%  4.0/4.0 MB  4.0 MB/s  ETA 0s\x1b[K\n",
  ]);
});
