#!/usr/bin/env node
import path from "node:path";
import { Command } from "commander";
import { DEFAULT_CONFIG_FILE, loadConfig, specLabelFor } from "./config";
import type { DiffOptions } from "./diff/diff-command";
import { BASELINE_DIR } from "./diff/sources/baseline-dir";
import type { GenerateTarget } from "./generate";
import { closeFormatter, prepareFormatter } from "./write/format";
import { compareGenerated, writeGenerated } from "./write/sync-files";

const program = new Command()
  .name("stowage-codegen")
  .description("Typed clients, zod schemas and Express stubs from OpenAPI 3.0/3.1 specs.");

program
  .command("generate")
  .description("Generate every spec of the config, or one spec into one folder")
  .option("-c, --config <file>", "config file listing the specs", DEFAULT_CONFIG_FILE)
  .option("--spec <file>", "one spec outside the config (needs --out)")
  .option("--out <dir>", "folder for --spec's generated files")
  .option("--name <name>", "kebab-case API name for --spec (factory names)", "api")
  .action(async (options: { config: string; spec?: string; out?: string; name: string }) => {
    const { generateTargets } = await loadGenerator();
    const files = await generateTargets(await targetsFor(options));
    const report = await writeGenerated(files);
    const touched = [...report.changed, ...report.orphaned.map((file) => `${file} (removed)`)];
    console.log(
      touched.length === 0
        ? `up to date (${files.length} files)`
        : touched.map(relative).join("\n"),
    );
  });

program
  .command("check")
  .description("Fail when committed generated files differ from what the specs generate")
  .option("-c, --config <file>", "config file listing the specs", DEFAULT_CONFIG_FILE)
  .action(async (options: { config: string }) => {
    const { generateTargets } = await loadGenerator();
    const files = await generateTargets(await targetsFor(options));
    const { changed, orphaned } = await compareGenerated(files);
    if (changed.length + orphaned.length === 0) {
      console.log(`generated code is up to date (${files.length} files)`);
      return;
    }
    console.error(
      "generated code is stale; run `npm run generate` (never edit generated files by hand):",
    );
    for (const file of changed) console.error(`  changed: ${relative(file)}`);
    for (const file of orphaned) console.error(`  orphaned: ${relative(file)}`);
    process.exitCode = 1;
  });

program
  .command("scaffold")
  .description(
    "Write a starter server for a spec: a typed handler module per tag, wired through the router",
  )
  .requiredOption("--spec <file>", "the spec")
  .requiredOption("--out <dir>", "folder of the new server")
  .option("--name <name>", "kebab-case API name (factory names)", "api")
  .option("--force", "overwrite existing files")
  .action(async (options: { spec: string; out: string; name: string; force?: boolean }) => {
    prepareFormatter();
    const { scaffoldServer } = await import("./scaffold");
    const spec = path.resolve(options.spec);
    const out = path.resolve(options.out);
    const written = await scaffoldServer({
      spec,
      // The label `generate` and `check` would give this spec, so the stubs are not stale.
      specLabel: await specLabelFor(spec, out),
      name: options.name,
      out,
      force: options.force === true,
    });
    console.log(written.map(relative).join("\n"));
  });

program
  .command("diff")
  .description(
    "Report every change between two versions of a spec (breaking, non-breaking or deprecation) " +
      "and what it changes in the generated types; exit 1 on a breaking change",
  )
  .argument("[files...]", "BASE HEAD spec files; or, with --git, one spec file")
  .option(
    "--git <ref>",
    "compare the working tree with this git ref (configured specs, or the file)",
  )
  .option(
    "--baseline [dir]",
    `compare each configured spec with its baseline (default ${BASELINE_DIR})`,
  )
  .option("--spec <name>", "only this spec of the config (with --git or --baseline)")
  .option("-c, --config <file>", "config file listing the specs", DEFAULT_CONFIG_FILE)
  .option("--format <format>", "text, markdown (a pull-request comment) or json", "text")
  .option("--allow-breaking", "exit 0 even when a change is breaking")
  .option("--no-types", "leave out the changes of the generated TypeScript types")
  .option("--color", "colour the text report (default: on a terminal, unless NO_COLOR)")
  .option("--no-color", "never colour the text report")
  .action(async (files: string[], options: DiffOptions) => {
    const { runDiffCommand } = await import("./diff/diff-command");
    process.exitCode = await runDiffCommand(files, options);
  });

program
  .command("baseline")
  .description(
    "Take the baseline of each configured spec (at a release): the contract `diff --baseline` gates on",
  )
  .option("-c, --config <file>", "config file listing the specs", DEFAULT_CONFIG_FILE)
  .option("--spec <name>", "only this spec of the config")
  .option("--out <dir>", "folder of the baselines, relative to the config", BASELINE_DIR)
  .action(async (options: { config: string; spec?: string; out: string }) => {
    const { configuredSpecs } = await import("./diff/sources/configured-specs");
    const { takeBaselines } = await import("./diff/sources/baseline");
    const { root, specs } = await configuredSpecs(options.config, options.spec);
    const written = await takeBaselines(root, options.out, specs);
    console.log(written.map(relative).join("\n"));
  });

/**
 * Starts the format workers, then loads the generator: openapi-typescript, TypeScript and Redocly
 * take most of a second to load, and the workers load Prettier meanwhile instead of afterwards.
 */
async function loadGenerator(): Promise<typeof import("./generate")> {
  prepareFormatter();
  return import("./generate");
}

async function targetsFor(options: {
  config: string;
  spec?: string;
  out?: string;
  name?: string;
}): Promise<GenerateTarget[]> {
  if (options.spec) {
    if (!options.out) throw new Error("--spec needs --out");
    const spec = path.resolve(options.spec);
    const out = path.resolve(options.out);
    // Labelled as the config above `out` labels it, whatever the working directory.
    return [{ name: options.name ?? "api", spec, specLabel: await specLabelFor(spec, out), out }];
  }
  const config = await loadConfig(options.config);
  const inRoot = (file: string | undefined) =>
    file === undefined ? undefined : path.resolve(config.root, file);
  return config.specs.map((entry) => ({
    name: entry.name,
    spec: path.resolve(config.root, entry.spec),
    specLabel: entry.spec,
    client: inRoot(entry.client),
    server: inRoot(entry.server),
  }));
}

function relative(file: string): string {
  return path.relative(process.cwd(), file) || ".";
}

program
  .parseAsync()
  .catch((error: unknown) => {
    console.error(`stowage-codegen: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 2;
  })
  // The format workers would not keep the process alive, but no thread should outlive the command.
  .finally(closeFormatter);
