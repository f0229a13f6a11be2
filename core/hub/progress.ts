/**
 * Download progress on stderr: a bar redrawn in place on a terminal
 * (`name [#####.....]  50%  49.2/98.4 MB  12.3 MB/s  ETA 4s`), plain lines otherwise (one per
 * 10 % and a final one), so CI logs stay readable.
 *
 * @module
 */

/** One progress sample. */
export interface ProgressState {
  /** What is being transferred, usually a file name. */
  readonly label: string;
  /** Bytes done so far, including bytes a resumed download already had. */
  readonly doneBytes: number;
  /** Expected total, when known. */
  readonly totalBytes?: number;
  /** Bytes that were already there when this transfer started (they do not count for speed). */
  readonly startBytes?: number;
  /** Time since this transfer started, in milliseconds. */
  readonly elapsedMs: number;
}

const BAR_WIDTH = 24;

function _megabytes(bytes: number): string {
  return (bytes / 1e6).toFixed(1);
}

/**
 * A duration as "42s", "3m05s" or "1h02m".
 *
 * @param seconds a duration in seconds
 * @returns the short text
 */
export function formatDuration(seconds: number): string {
  const whole = Math.max(0, Math.round(seconds));
  if (whole < 60) return `${whole}s`;
  if (whole < 3600) return `${Math.floor(whole / 60)}m${String(whole % 60).padStart(2, "0")}s`;
  const minutes = Math.floor(whole / 60);
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, "0")}m`;
}

/**
 * One progress line. With `bar`, a terminal line with a `[###...]` bar; without, a plain
 * log line. Unknown totals drop the percent, bar and ETA; no elapsed time shows "--" speeds.
 *
 * @param state the sample
 * @param options `bar: true` for the terminal form
 * @returns the line, without a newline
 *
 * @example
 * ```ts
 * import { formatProgress } from "./progress.ts";
 * const line = formatProgress({ label: "m.gguf", doneBytes: 50e6, totalBytes: 100e6, elapsedMs: 5000 });
 * if (line !== "m.gguf: 50% 50.0/100.0 MB 10.0 MB/s ETA 5s") throw new Error(line);
 * ```
 */
export function formatProgress(state: ProgressState, options: { bar?: boolean } = {}): string {
  const seconds = state.elapsedMs / 1000;
  const speed = seconds > 0 ? (state.doneBytes - (state.startBytes ?? 0)) / seconds : 0;
  const speedText = speed > 0 ? `${_megabytes(speed)} MB/s` : "-- MB/s";
  const total = state.totalBytes;
  if (total === undefined || total <= 0) {
    const fields = [`${_megabytes(state.doneBytes)} MB`, speedText];
    return options.bar
      ? `${state.label}  ${fields.join("  ")}`
      : `${state.label}: ${fields.join(" ")}`;
  }
  const fraction = Math.min(1, state.doneBytes / total);
  const eta = speed > 0 ? `ETA ${formatDuration((total - state.doneBytes) / speed)}` : "ETA --";
  const fields = [
    `${String(Math.floor(fraction * 100)).padStart(options.bar ? 3 : 0)}%`,
    `${_megabytes(state.doneBytes)}/${_megabytes(total)} MB`,
    speedText,
    eta,
  ];
  if (!options.bar) return `${state.label}: ${fields.join(" ")}`;
  const filled = Math.round(fraction * BAR_WIDTH);
  const bar = `[${"#".repeat(filled)}${".".repeat(BAR_WIDTH - filled)}]`;
  return `${state.label} ${bar} ${fields.join("  ")}`;
}

/** Where progress goes. */
export interface ProgressOutput {
  /** Writes text as is (no newline added). */
  write(text: string): void;
  /** Redraw one line in place (a terminal) instead of printing lines. */
  readonly isTerminal: boolean;
  /** Clock in milliseconds; default `performance.now`. */
  now?: () => number;
}

/** Reports one transfer. */
export interface ProgressReporter {
  /** Records the bytes done so far; prints when due. */
  update(doneBytes: number): void;
  /** Prints the final state and ends the line. */
  finish(): void;
}

/** The process's stderr as a progress output. */
export function stderrProgressOutput(): ProgressOutput {
  const encoder = new TextEncoder();
  return {
    write: (text) => {
      Deno.stderr.writeSync(encoder.encode(text));
    },
    isTerminal: Deno.stderr.isTerminal(),
  };
}

/**
 * Starts reporting one transfer: on a terminal, redraws at most every 100 ms; otherwise prints
 * a line at each 10 % step (every 10 s when the total is unknown) and at the end.
 *
 * @param transfer label, total and bytes already present
 * @param output where to write
 * @returns the reporter
 */
export function createProgressReporter(
  transfer: { label: string; totalBytes?: number; startBytes?: number },
  output: ProgressOutput,
): ProgressReporter {
  const now = output.now ?? (() => performance.now());
  const startMs = now();
  let doneBytes = transfer.startBytes ?? 0;
  let lastDrawMs = -Infinity;
  let lastStep = -1;
  let lastPrintedBytes = -1;
  const state = (): ProgressState => ({ ...transfer, doneBytes, elapsedMs: now() - startMs });
  const step = () =>
    transfer.totalBytes
      ? Math.floor((doneBytes / transfer.totalBytes) * 10)
      : Math.floor((now() - startMs) / 10_000);
  return {
    update(bytes) {
      doneBytes = bytes;
      if (output.isTerminal) {
        if (now() - lastDrawMs < 100) return;
        lastDrawMs = now();
        output.write(`\r${formatProgress(state(), { bar: true })}\x1b[K`);
      } else if (step() > lastStep) {
        lastStep = step();
        lastPrintedBytes = doneBytes;
        output.write(`${formatProgress(state())}\n`);
      }
    },
    finish() {
      if (output.isTerminal) output.write(`\r${formatProgress(state(), { bar: true })}\x1b[K\n`);
      else if (lastPrintedBytes !== doneBytes) output.write(`${formatProgress(state())}\n`);
    },
  };
}
