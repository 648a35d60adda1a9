import { format, resolveConfig, type Options } from "prettier";

let options: Promise<Options> | undefined;

/** Formats with the project's Prettier settings, so `prettier --check` agrees with the generator. */
export async function formatTypeScript(source: string): Promise<string> {
  options ??= resolveConfig(process.cwd() + "/generated.ts").then((found) => ({
    ...found,
    parser: "typescript",
  }));
  return format(source, await options);
}
