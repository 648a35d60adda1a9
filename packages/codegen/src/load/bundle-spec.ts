import { createHash } from "node:crypto";
import { bundle, createConfig, type BaseResolver, type Config } from "@redocly/openapi-core";
import type { OpenApiDocument } from "./openapi-document";

export interface BundledSpec {
  /** Every external `$ref` inlined into `components`, local `$ref`s kept. */
  document: OpenApiDocument;
  /** SHA-256 of the canonical bundle (sorted keys), so formatting-only edits of the YAML do not count. */
  sha256: string;
}

let config: Promise<Config> | undefined;

/** `resolver` reads the files of another source (a git commit) instead of the working tree. */
export async function bundleSpec(file: string, resolver?: BaseResolver): Promise<BundledSpec> {
  // An empty Redocly config: bundling must not depend on a lint configuration found on disk.
  config ??= createConfig({});
  const result = await bundle({
    ref: file,
    config: await config,
    dereference: false,
    ...(resolver ? { externalRefResolver: resolver } : {}),
  });
  const errors = result.problems.filter((problem) => problem.severity === "error");
  if (errors.length > 0) {
    const lines = errors.map((problem) => `  ${problem.message}`);
    throw new Error(`cannot bundle ${file}:\n${lines.join("\n")}`);
  }
  const document = result.bundle.parsed as OpenApiDocument;
  if (typeof document?.openapi !== "string" || !/^3\.[01]\./.test(document.openapi)) {
    throw new Error(
      `${file}: only OpenAPI 3.0 and 3.1 are supported (found ${String(document?.openapi)})`,
    );
  }
  return { document, sha256: sha256Canonical(document) };
}

export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) =>
            a < b ? -1 : a > b ? 1 : 0,
          ),
        )
      : v,
  );
}

function sha256Canonical(value: unknown): string {
  return createHash("sha256").update(canonicalJson(value)).digest("hex");
}
