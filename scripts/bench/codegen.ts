/**
 * Full regeneration of every spec in stowage.config.json, in-process through the library
 * (`renderTargets`: `loadModel` + `renderArtifacts` once per distinct spec, Prettier in worker
 * threads, as the CLI does), against a baseline of openapi-typescript's Node API plus a
 * prettier `format` of its output on the same specs. Both sides run in this process, interleaved,
 * so the ratio is meaningful on a noisy machine even when the absolute times are not.
 *
 *   node -r ts-node/register/transpile-only scripts/bench/codegen.ts [--runs 5] [--no-stages]
 *
 * Plain Node only (not jest): openapi-typescript's dependencies are ESM, loaded with require(esm).
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { pathToFileURL } from "node:url";
import { createConfig, type Config } from "@redocly/openapi-core";
import openapiTS, { astToString, type OpenAPITSOptions } from "openapi-typescript";
import { format, resolveConfig, type Options } from "prettier";
import { loadConfig } from "../../packages/codegen/src/config";
import {
  CLIENT_FILES,
  SERVER_FILES,
  renderTargets,
  type Artifacts,
  type GenerateTarget,
} from "../../packages/codegen/src/generate";
import { bundleSpec } from "../../packages/codegen/src/load/bundle-spec";
import { buildModel } from "../../packages/codegen/src/model/build-model";
import { emitClient } from "../../packages/codegen/src/emit/client-factory";
import { emitEmbeddedSpec } from "../../packages/codegen/src/emit/embedded-spec";
import { emitHandlers } from "../../packages/codegen/src/emit/handler-interface";
import { emitOperations } from "../../packages/codegen/src/emit/operations-table";
import { emitRouter } from "../../packages/codegen/src/emit/router-factory";
import { emitTypes } from "../../packages/codegen/src/emit/typescript-types";
import { emitZodSchemas } from "../../packages/codegen/src/emit/zod-schemas";
import { formatTypeScript } from "../../packages/codegen/src/write/format";
import {
  collectGarbage,
  environment,
  fixed,
  goal,
  intOption,
  limitRuntime,
  max,
  median,
  min,
  table,
} from "./stats";

const ROOT = path.resolve(__dirname, "..", "..");
const GOAL_TOTAL_MS = 2000;
const GOAL_RATIO = 1.5;
const BUDGET_SECONDS = 300;

type Target = Required<Pick<GenerateTarget, "name" | "spec" | "specLabel">> &
  Pick<GenerateTarget, "client" | "server">;

// ---------------------------------------------------------------------------------------------
// The two sides

/**
 * stowage: what `stowage-codegen generate` computes before writing, through the same library call
 * (targets in parallel, a spec listed twice rendered once, Prettier in the worker pool).
 */
async function stowageRun(targets: readonly Target[]): Promise<Artifacts[]> {
  return renderTargets(targets);
}

let baselineRedocly: Promise<Config> | undefined;
let baselinePrettier: Promise<Options> | undefined;

/**
 * openapi-typescript straight from the spec file (it bundles and lints with Redocly itself), with
 * the options stowage passes it, printed with `astToString` and formatted with the project's
 * prettier settings. Config objects are created once per process, as stowage does.
 */
async function baselineConfigs(): Promise<{ openapi: OpenAPITSOptions; prettier: Options }> {
  baselineRedocly ??= createConfig({}, { extends: ["minimal"] });
  baselinePrettier ??= resolveConfig(path.join(ROOT, "generated.ts")).then((found) => ({
    ...found,
    parser: "typescript",
  }));
  return {
    openapi: {
      emptyObjectsUnknown: true,
      defaultNonNullable: false,
      redocly: await baselineRedocly,
      silent: true,
    },
    prettier: await baselinePrettier,
  };
}

async function baselineOne(target: Target): Promise<string> {
  const configs = await baselineConfigs();
  const ast = await openapiTS(pathToFileURL(target.spec), configs.openapi);
  return format(astToString(ast), configs.prettier);
}

async function baselineRun(targets: readonly Target[]): Promise<string[]> {
  return Promise.all(targets.map(baselineOne));
}

// ---------------------------------------------------------------------------------------------
// Stage breakdown (sequential, one spec at a time, so each stage is timed alone)

const ARTIFACT_NAMES = [
  "types.ts",
  "schemas.ts",
  "operations.ts",
  "client.ts",
  "handlers.ts",
  "router.ts",
  "spec.ts",
] as const satisfies readonly (keyof Artifacts)[];

const STOWAGE_STAGES = [
  "bundle (Redocly)",
  "model",
  "openapi-typescript (emitTypes)",
  "zod emit",
  "other emitters",
  ...ARTIFACT_NAMES.map((name) => `prettier ${name}` as const),
] as const;
type StowageStage = (typeof STOWAGE_STAGES)[number];

const BASELINE_STAGES = [
  "openapiTS (bundle + lint + AST)",
  "astToString",
  "prettier (types)",
] as const;
type BaselineStage = (typeof BASELINE_STAGES)[number];

async function timed<T>(
  into: Partial<Record<string, number>>,
  stage: string,
  work: () => T | Promise<T>,
): Promise<T> {
  const start = performance.now();
  const result = await work();
  into[stage] = (into[stage] ?? 0) + performance.now() - start;
  return result;
}

async function stowageStages(target: Target): Promise<Record<StowageStage, number>> {
  const times: Partial<Record<string, number>> = {};
  const { document, sha256 } = await timed(times, "bundle (Redocly)", () =>
    bundleSpec(target.spec),
  );
  const model = await timed(times, "model", () =>
    buildModel({ name: target.name, specLabel: target.specLabel, sha256, document }),
  );
  const types = await timed(times, "openapi-typescript (emitTypes)", () => emitTypes(model));
  const zod = await timed(times, "zod emit", () => emitZodSchemas(model, types.document));
  const others = await timed(times, "other emitters", () => ({
    "operations.ts": emitOperations(model),
    "client.ts": emitClient(model),
    "handlers.ts": emitHandlers(model),
    "router.ts": emitRouter(model),
    "spec.ts": emitEmbeddedSpec(model),
  }));
  const sources: Artifacts = { "types.ts": types.source, "schemas.ts": zod, ...others };
  for (const name of ARTIFACT_NAMES) {
    await timed(times, `prettier ${name}`, () => formatTypeScript(sources[name]));
  }
  return times as Record<StowageStage, number>;
}

async function baselineStages(target: Target): Promise<Record<BaselineStage, number>> {
  const configs = await baselineConfigs();
  const times: Partial<Record<string, number>> = {};
  const ast = await timed(times, "openapiTS (bundle + lint + AST)", () =>
    openapiTS(pathToFileURL(target.spec), configs.openapi),
  );
  const source = await timed(times, "astToString", () => astToString(ast));
  await timed(times, "prettier (types)", () => format(source, configs.prettier));
  return times as Record<BaselineStage, number>;
}

// ---------------------------------------------------------------------------------------------
// Sanity: the benchmarked output is the committed generated code

async function matchesCommitted(
  targets: readonly Target[],
  rendered: readonly Artifacts[],
): Promise<{ files: number; stale: string[] }> {
  const stale: string[] = [];
  let files = 0;
  for (const [index, target] of targets.entries()) {
    const placed: [string | undefined, readonly (keyof Artifacts)[]][] = [
      [target.client, CLIENT_FILES],
      [target.server, SERVER_FILES],
    ];
    for (const [dir, names] of placed) {
      if (!dir) continue;
      for (const name of names) {
        files++;
        const file = path.join(dir, name);
        const committed = await readFile(file, "utf8").catch(() => undefined);
        if (committed !== rendered[index][name]) stale.push(path.relative(ROOT, file));
      }
    }
  }
  return { files, stale };
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  limitRuntime(BUDGET_SECONDS);
  // The generator resolves prettier's config from the working directory, as the CLI does.
  process.chdir(ROOT);
  const runs = intOption("runs", 5);
  const withStages = !process.argv.includes("--no-stages");

  const config = await loadConfig(path.join(ROOT, "stowage.config.json"));
  const targets: Target[] = config.specs.map((entry) => ({
    name: entry.name,
    spec: path.resolve(config.root, entry.spec),
    specLabel: entry.spec,
    client: entry.client === undefined ? undefined : path.resolve(config.root, entry.client),
    server: entry.server === undefined ? undefined : path.resolve(config.root, entry.server),
  }));

  console.log(`codegen benchmark: ${environment()}`);
  console.log(`specs (${targets.length}): ${targets.map((target) => target.specLabel).join(", ")}`);
  console.log(`${runs} measured runs per side after one warm-up, interleaved, GC between runs\n`);

  // Warm-up: module loading, JIT, Redocly and prettier configs. Also checks what is measured.
  const warmStart = performance.now();
  const rendered = await stowageRun(targets);
  const warmStowage = performance.now() - warmStart;
  const baseStart = performance.now();
  const baselineOutput = await baselineRun(targets);
  const warmBaseline = performance.now() - baseStart;
  const sanity = await matchesCommitted(targets, rendered);
  // A spec listed twice is rendered once: count each distinct render once.
  const distinct = [...new Set(rendered)];
  const stowageBytes = distinct
    .flatMap((artifacts) => Object.values(artifacts) as string[])
    .reduce((sum, text) => sum + text.length, 0);
  const baselineBytes = baselineOutput.reduce((sum, text) => sum + text.length, 0);
  console.log(
    `warm-up (cold, includes module loading): stowage ${fixed(warmStowage, 0)} ms, baseline ${fixed(warmBaseline, 0)} ms`,
  );
  console.log(
    `output: stowage ${distinct.length * 7} artifacts (7 per distinct spec of ` +
      `${targets.length} entries), ${fixed(stowageBytes / 1024)} KiB; ` +
      `baseline ${baselineOutput.length} types.ts sources, ${fixed(baselineBytes / 1024)} KiB`,
  );
  console.log(
    sanity.stale.length === 0
      ? `output equals the committed generated code (${sanity.files} files)\n`
      : `WARNING: output differs from committed generated code: ${sanity.stale.join(", ")}\n`,
  );

  // Wall time is what the goals are about; CPU time (this process, all threads) is printed beside
  // it because it moves less when other processes compete for the 2 cores.
  const samples = {
    stowage: { wall: [] as number[], cpu: [] as number[] },
    baseline: { wall: [] as number[], cpu: [] as number[] },
  };
  for (let run = 0; run < runs; run++) {
    const order =
      run % 2 === 0 ? (["stowage", "baseline"] as const) : (["baseline", "stowage"] as const);
    for (const side of order) {
      collectGarbage();
      const cpuStart = process.cpuUsage();
      const start = performance.now();
      if (side === "stowage") await stowageRun(targets);
      else await baselineRun(targets);
      samples[side].wall.push(performance.now() - start);
      const cpu = process.cpuUsage(cpuStart);
      samples[side].cpu.push((cpu.user + cpu.system) / 1000);
    }
  }

  const stowage = median(samples.stowage.wall);
  const baseline = median(samples.baseline.wall);
  const ratio = stowage / baseline;
  const cpuRatio = median(samples.stowage.cpu) / median(samples.baseline.cpu);
  const row = (label: string, side: { wall: number[]; cpu: number[] }) => [
    label,
    fixed(median(side.wall)),
    fixed(min(side.wall)),
    fixed(max(side.wall)),
    fixed(median(side.cpu)),
    side.wall.map((value) => fixed(value, 0)).join(" "),
  ];
  console.log(
    table([
      ["side", "median ms", "min ms", "max ms", "median CPU ms", "runs (wall ms)"],
      row("stowage (renderTargets, 7 files/spec, prettier in workers)", samples.stowage),
      row("baseline (openapiTS + astToString + prettier, types only)", samples.baseline),
      ["ratio stowage / baseline", `${fixed(ratio, 2)}x`, "", "", `${fixed(cpuRatio, 2)}x`, ""],
    ]),
  );
  console.log("");
  console.log(
    table([
      ["goal", "target", "measured", "status"],
      [
        "full regeneration (stowage median wall)",
        `< ${GOAL_TOTAL_MS} ms`,
        `${fixed(stowage, 0)} ms`,
        goal(stowage < GOAL_TOTAL_MS),
      ],
      [
        "ratio stowage / baseline (median wall)",
        `<= ${GOAL_RATIO}x`,
        `${fixed(ratio, 2)}x`,
        goal(ratio <= GOAL_RATIO),
      ],
    ]),
  );

  if (!withStages) return;

  // Sequential per entry, each stage alone: where the work is, not the wall time above. Each file's
  // prettier stage runs in a format worker (one at a time here, message passing included), and an
  // entry listed twice is timed twice although the runs above render it once.
  console.log(`\nstage breakdown: median ms over ${runs} sequential runs, one spec at a time\n`);
  const stowageSamples: Record<StowageStage, number>[][] = targets.map(() => []);
  const baselineSamples: Record<BaselineStage, number>[][] = targets.map(() => []);
  // One GC per sweep over all specs, as in the runs above: a full GC before every spec shrinks the
  // heap, and the GCs that follow while it grows back inflated the stages by about 45% when tried.
  for (let run = 0; run < runs; run++) {
    collectGarbage();
    for (const [index, target] of targets.entries()) {
      stowageSamples[index].push(await stowageStages(target));
    }
    collectGarbage();
    for (const [index, target] of targets.entries()) {
      baselineSamples[index].push(await baselineStages(target));
    }
  }
  // A spec may be listed twice (e.g. once more for an example server): name such columns by folder.
  const columnLabel = (target: Target) => {
    if (targets.filter((other) => other.name === target.name).length === 1) return target.name;
    const dir = target.client ?? target.server ?? target.spec;
    return `${target.name} (${path.basename(path.dirname(path.dirname(dir)))})`;
  };
  const breakdown = <Stage extends string>(
    title: string,
    stages: readonly Stage[],
    samples: Record<Stage, number>[][],
  ) => {
    const cells = stages.map((stage) =>
      samples.map((perSpec) => median(perSpec.map((sample) => sample[stage]))),
    );
    const totals = stages.map((_, row) => cells[row].reduce((sum, value) => sum + value, 0));
    const grand = totals.reduce((sum, value) => sum + value, 0);
    const specTotals = targets.map((_, column) => cells.reduce((sum, row) => sum + row[column], 0));
    const line = (label: string, perSpec: number[], total: number) => [
      label,
      ...perSpec.map((value) => fixed(value)),
      fixed(total),
      `${fixed((100 * total) / grand, 0)}%`,
    ];
    // The prettier rows (one per artifact) also get a subtotal.
    const prettierRows = stages.flatMap((stage, row) =>
      stage.startsWith("prettier ") ? [row] : [],
    );
    const subtotal =
      prettierRows.length > 1
        ? [
            line(
              "prettier, all files",
              targets.map((_, column) =>
                prettierRows.reduce((sum, row) => sum + cells[row][column], 0),
              ),
              prettierRows.reduce((sum, row) => sum + totals[row], 0),
            ),
          ]
        : [];
    return table([
      [title, ...targets.map(columnLabel), "all specs", "share"],
      ...stages.map((stage, row) => line(stage, cells[row], totals[row])),
      ...subtotal,
      line("total (sequential)", specTotals, grand),
    ]);
  };
  console.log(breakdown("stowage stage", STOWAGE_STAGES, stowageSamples));
  console.log("");
  console.log(breakdown("baseline stage", BASELINE_STAGES, baselineSamples));
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exit(1);
  },
);
