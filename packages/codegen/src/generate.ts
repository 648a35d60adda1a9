import path from "node:path";
import { bundleSpec } from "./load/bundle-spec";
import { buildModel } from "./model/build-model";
import type { ApiModel } from "./model/api-model";
import { emitClient } from "./emit/client-factory";
import { emitEmbeddedSpec } from "./emit/embedded-spec";
import { emitHandlers } from "./emit/handler-interface";
import { emitOperations } from "./emit/operations-table";
import { emitRouter } from "./emit/router-factory";
import { emitTypes } from "./emit/typescript-types";
import { emitZodSchemas } from "./emit/zod-schemas";
import { formatTypeScript, prepareFormatter } from "./write/format";

export interface GeneratedFile {
  /** Absolute path. */
  path: string;
  content: string;
}

export interface Artifacts {
  "types.ts": string;
  "schemas.ts": string;
  "operations.ts": string;
  "client.ts": string;
  "handlers.ts": string;
  "router.ts": string;
  "spec.ts": string;
}

export const CLIENT_FILES = ["types.ts", "schemas.ts", "operations.ts", "client.ts"] as const;
export const SERVER_FILES = [
  "types.ts",
  "schemas.ts",
  "operations.ts",
  "spec.ts",
  "handlers.ts",
  "router.ts",
] as const;

export interface GenerateTarget {
  name: string;
  /** Absolute path of the spec's entry file. */
  spec: string;
  /** How the header names the spec: a path relative to the project root. */
  specLabel: string;
  client?: string;
  server?: string;
  /** Everything into one folder (`generate --spec X --out DIR`). */
  out?: string;
}

export async function loadModel(
  target: Pick<GenerateTarget, "name" | "spec" | "specLabel">,
): Promise<ApiModel> {
  const { document, sha256 } = await bundleSpec(target.spec);
  return buildModel({ name: target.name, specLabel: target.specLabel, sha256, document });
}

/** Load -> model -> emit -> format; pure apart from reading the spec. */
export async function renderArtifacts(model: ApiModel): Promise<Artifacts> {
  // Workers load Prettier while openapi-typescript runs (a no-op once they are up).
  prepareFormatter();
  const types = await emitTypes(model);
  const sources: Artifacts = {
    "types.ts": types.source,
    "schemas.ts": emitZodSchemas(model, types.document),
    "operations.ts": emitOperations(model),
    "client.ts": emitClient(model),
    "handlers.ts": emitHandlers(model),
    "router.ts": emitRouter(model),
    "spec.ts": emitEmbeddedSpec(model),
  };
  const names = Object.keys(sources) as (keyof Artifacts)[];
  const formatted = await Promise.all(names.map((name) => formatTypeScript(sources[name])));
  return Object.fromEntries(
    names.map((name, index) => [name, formatted[index]]),
  ) as unknown as Artifacts;
}

/**
 * The artifacts of each target, in order. Targets with the same spec, name and label (one spec
 * listed for several folders) have the same artifacts, so each distinct one is rendered once.
 */
export async function renderTargets(
  targets: readonly Pick<GenerateTarget, "name" | "spec" | "specLabel">[],
): Promise<Artifacts[]> {
  // Before the first bundle: the workers load Prettier while Redocly bundles.
  prepareFormatter();
  const renders = new Map<string, Promise<Artifacts>>();
  return Promise.all(
    targets.map((target) => {
      const key = JSON.stringify([target.spec, target.name, target.specLabel]);
      let render = renders.get(key);
      if (!render) {
        render = loadModel(target).then(renderArtifacts);
        renders.set(key, render);
      }
      return render;
    }),
  );
}

/** Where a target's artifacts go: the client's files, the server's, or all of them for `out`. */
export function placeArtifacts(target: GenerateTarget, artifacts: Artifacts): GeneratedFile[] {
  const files: GeneratedFile[] = [];
  const place = (dir: string | undefined, names: readonly (keyof Artifacts)[]) => {
    if (!dir) return;
    for (const name of names) files.push({ path: path.join(dir, name), content: artifacts[name] });
  };
  place(target.client, CLIENT_FILES);
  place(target.server, SERVER_FILES);
  place(target.out, Object.keys(artifacts) as (keyof Artifacts)[]);
  return files;
}

export async function generateTargets(
  targets: readonly GenerateTarget[],
): Promise<GeneratedFile[]> {
  const rendered = await renderTargets(targets);
  return targets.flatMap((target, index) => placeArtifacts(target, rendered[index]));
}

export async function generateTarget(target: GenerateTarget): Promise<GeneratedFile[]> {
  return generateTargets([target]);
}
