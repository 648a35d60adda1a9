import { readFileSync } from "node:fs";
import { InvalidArgumentError } from "commander";
import { parse } from "yaml";
import { CliExit } from "./operator-session";

/** Local usage problems (a file that cannot be read, flags that contradict) exit as a 400 would. */
export const USAGE_EXIT = 2;

/** A file's text, `-` meaning standard input; a file that cannot be read is a usage error. */
function readInput(file: string): string {
  try {
    return readFileSync(file === "-" ? 0 : file, "utf8");
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new CliExit(
      USAGE_EXIT,
      `cannot read ${file === "-" ? "standard input" : file}: ${reason}`,
    );
  }
}

/** Reads a request body from a YAML or JSON file (`-` for standard input). */
export function bodyFrom(file: string): never {
  return parse(readInput(file)) as never;
}

/**
 * Reads a secret from a file (`-` for standard input), without the newline `echo` or an editor
 * leaves. Secrets are never flag values: argv shows in `ps`, shell history and CI logs.
 */
export function secretFrom(file: string): string {
  const secret = readInput(file).replace(/\r?\n$/, "");
  if (secret === "")
    throw new CliExit(USAGE_EXIT, `${file === "-" ? "standard input" : file} is empty`);
  return secret;
}

/** Commander's parser for a flag that may be repeated: each use adds one value. */
export function repeated(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** Commander's parser for a whole number: a typo is a usage error here, not a 400 later. */
export function wholeNumber(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError("expected a whole number");
  return Number(value);
}
