import { availableParallelism, cpus } from "node:os";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

/** Shared helpers of the benchmarks: statistics, tables, a bounded run, an explicit GC. */

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

export function min(values: readonly number[]): number {
  return Math.min(...values);
}

export function max(values: readonly number[]): number {
  return Math.max(...values);
}

/** Renders rows as an aligned text table; the first row is the header. */
export function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  const line = (row: readonly string[]) =>
    row
      .map((cell, column) =>
        column === 0 ? cell.padEnd(widths[0]) : cell.padStart(widths[column]),
      )
      .join("  ");
  const rule = widths.map((width) => "-".repeat(width)).join("  ");
  return [line(rows[0]), rule, ...rows.slice(1).map(line)].join("\n");
}

export function fixed(value: number, digits = 1): string {
  return Number.isFinite(value) ? value.toFixed(digits) : "n/a";
}

export function goal(met: boolean): string {
  return met ? "met" : "MISSED";
}

/** `--name=value` or `--name value` from argv. */
export function option(name: string): string | undefined {
  const args = process.argv.slice(2);
  for (let index = 0; index < args.length; index++) {
    const arg = args[index];
    if (arg === `--${name}`) return args[index + 1];
    if (arg.startsWith(`--${name}=`)) return arg.slice(name.length + 3);
  }
  return undefined;
}

export function intOption(name: string, fallback: number): number {
  const raw = option(name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1)
    throw new Error(`--${name} must be a positive integer`);
  return value;
}

/**
 * A full GC between measured runs, so one side does not pay for the other's garbage. Works without
 * `--expose-gc` on the command line (the flag is set at runtime, then `gc` read from a new context).
 */
export const collectGarbage: () => void = (() => {
  setFlagsFromString("--expose-gc");
  const gc: unknown = runInNewContext("gc");
  return typeof gc === "function" ? (gc as () => void) : () => undefined;
})();

/** Exits the process (code 2) when the benchmark outlives its budget, so it always ends by itself. */
export function limitRuntime(seconds: number, onTimeout?: () => void): void {
  setTimeout(() => {
    console.error(`benchmark exceeded its ${seconds} s budget; stopping`);
    onTimeout?.();
    process.exit(2);
  }, seconds * 1000).unref();
}

export function environment(): string {
  return `node ${process.version}, ${availableParallelism()} CPU(s) (${cpus()[0]?.model ?? "unknown"})`;
}
