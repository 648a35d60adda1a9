import path from "node:path";
import { renderJson } from "./report/render-json";
import { renderMarkdown } from "./report/render-markdown";
import { renderText } from "./report/render-text";
import { hasBreakingChange, type SpecReport } from "./report/spec-report";
import { diffPairs } from "./run-diff";
import { BASELINE_DIR } from "./sources/baseline-dir";
import { configuredSpecs } from "./sources/configured-specs";
import { baselinePairs, filePair, gitPairs, specName, type SpecPair } from "./sources/spec-pairs";

export interface DiffOptions {
  config: string;
  git?: string;
  baseline?: string | boolean;
  spec?: string;
  format: string;
  allowBreaking?: boolean;
  types: boolean;
  color?: boolean;
}

const FORMATS = ["text", "markdown", "json"] as const;

/** `stowage-codegen diff`: prints the report and returns the exit code (1 on a breaking change). */
export async function runDiffCommand(files: string[], options: DiffOptions): Promise<number> {
  const format = FORMATS.find((name) => name === options.format);
  if (!format) throw new Error(`--format must be one of ${FORMATS.join(", ")}`);
  const reports = await diffPairs(await pairsFor(files, options), { types: options.types });
  process.stdout.write(render(reports, format, options.color ?? useColor()));
  return hasBreakingChange(reports) && options.allowBreaking !== true ? 1 : 0;
}

async function pairsFor(files: string[], options: DiffOptions): Promise<SpecPair[]> {
  const modes = [options.git !== undefined, options.baseline !== undefined, files.length === 2];
  if (modes.filter(Boolean).length !== 1)
    throw new Error("give BASE and HEAD files, or --git <ref>, or --baseline");
  if (files.length === 2) return [filePair(files[0], files[1])];
  if (options.git !== undefined) {
    // One file with --git: that spec, whether or not the config lists it.
    if (files.length === 1)
      return gitPairs(options.git, [
        { name: specName(files[0]), file: path.resolve(files[0]), label: files[0] },
      ]);
    return gitPairs(options.git, (await configuredSpecs(options.config, options.spec)).specs);
  }
  if (files.length > 0) throw new Error("--baseline compares the configured specs; give no files");
  const { root, specs } = await configuredSpecs(options.config, options.spec);
  const dir = typeof options.baseline === "string" ? options.baseline : BASELINE_DIR;
  return baselinePairs(root, dir, specs);
}

function render(reports: SpecReport[], format: (typeof FORMATS)[number], color: boolean): string {
  if (format === "json") return renderJson(reports);
  if (format === "markdown") return renderMarkdown(reports);
  return renderText(reports, color);
}

/** Colours on a terminal, unless NO_COLOR is set (https://no-color.org). */
function useColor(): boolean {
  return process.stdout.isTTY === true && !process.env.NO_COLOR;
}
