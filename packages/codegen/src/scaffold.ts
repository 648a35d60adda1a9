import { access, mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { loadModel, renderArtifacts, SERVER_FILES } from "./generate";
import type { ApiModel, OperationModel } from "./model/api-model";
import { SCAFFOLD_DEPENDENCIES } from "./scaffold-dependencies";
import { formatTypeScript } from "./write/format";

export interface ScaffoldOptions {
  spec: string;
  specLabel: string;
  name: string;
  out: string;
  force: boolean;
}

/**
 * A starter server: the generated stubs in `src/generated/`, one typed module per tag whose
 * handlers answer 410 until implemented, an authentication hook, and `server.ts` wiring it up.
 */
export async function scaffoldServer(options: ScaffoldOptions): Promise<string[]> {
  const model = await loadModel(options);
  const artifacts = await renderArtifacts(model);
  const files = new Map<string, string>();
  for (const name of SERVER_FILES) files.set(path.join("src", "generated", name), artifacts[name]);
  const byTag = groupByTag(model.operations);
  for (const [tag, operations] of byTag)
    files.set(
      path.join("src", "handlers", `${tag}.ts`),
      await formatTypeScript(tagModule(model, tag, operations)),
    );
  files.set(path.join("src", "auth.ts"), await formatTypeScript(authModule()));
  files.set("package.json", packageJson(options.name));
  files.set(
    path.join("src", "server.ts"),
    await formatTypeScript(serverModule(model, [...byTag.keys()])),
  );

  const written: string[] = [];
  for (const [relative, content] of files) {
    const target = path.join(options.out, relative);
    const generated = relative.startsWith(path.join("src", "generated"));
    if (!generated && !options.force && (await exists(target))) continue;
    await mkdir(path.dirname(target), { recursive: true });
    await writeFile(target, content);
    written.push(target);
  }
  return written;
}

function groupByTag(operations: OperationModel[]): Map<string, OperationModel[]> {
  const groups = new Map<string, OperationModel[]>();
  for (const operation of operations) {
    const tag = operation.tag.replace(/[^A-Za-z0-9]+/g, "-").toLowerCase();
    groups.set(tag, [...(groups.get(tag) ?? []), operation]);
  }
  return new Map([...groups].sort(([a], [b]) => (a < b ? -1 : 1)));
}

function camel(tag: string): string {
  return tag.replace(/-([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

function tagModule(model: ApiModel, tag: string, operations: OperationModel[]): string {
  const ids = operations.map((operation) => JSON.stringify(operation.operationId)).join(" | ");
  const entries = operations.map((operation) =>
    [
      `  /**`,
      `   * ${operation.method.toUpperCase()} ${operation.path}: ${operation.summary}.`,
      `   * Replies ${operation.responses.map((r) => r.status).join(", ")}. Implement as`,
      `   * \`async ${operation.operationId}(ctx) { return { status, body }; }\`: ctx and the reply are typed.`,
      `   */`,
      `  ${operation.operationId}: notImplemented(${JSON.stringify(operation.operationId)}),`,
    ].join("\n"),
  );
  return [
    'import { notImplemented } from "@stowage/server-runtime";',
    'import type { Principal } from "../auth";',
    `import type { ${model.pascal}Handlers } from "../generated/handlers";`,
    "",
    `/** Operations tagged \`${tag}\`. A placeholder answers 410 Gone until it is replaced. */`,
    `export const ${camel(tag)}Handlers: Pick<${model.pascal}Handlers<Principal>, ${ids}> = {`,
    ...entries,
    "};",
    "",
  ].join("\n");
}

function authModule(): string {
  return [
    'import { timingSafeEqual } from "node:crypto";',
    'import type { AuthenticateInput } from "@stowage/server-runtime";',
    "",
    "export interface Principal {",
    "  subject: string;",
    "}",
    "",
    "/**",
    " * Called once per security scheme the operation allows. Replace with your own: this one accepts",
    " * `Authorization: Bearer $API_TOKEN` for HTTP schemes and refuses every other kind (mTLS, API",
    " * keys...), so a bearer token never satisfies an operation that demands another scheme.",
    " */",
    "export function authenticate({ type, req }: AuthenticateInput): Principal | undefined {",
    '  if (type !== "http") return undefined;',
    "  const expected = process.env.API_TOKEN;",
    '  const presented = /^Bearer (.+)$/i.exec(req.get("authorization") ?? "")?.[1];',
    "  if (!expected || !presented) return undefined;",
    "  const a = Buffer.from(presented);",
    "  const b = Buffer.from(expected);",
    '  return a.length === b.length && timingSafeEqual(a, b) ? { subject: "api-token" } : undefined;',
    "}",
    "",
  ].join("\n");
}

function serverModule(model: ApiModel, tags: string[]): string {
  const imports = tags.map((tag) => `import { ${camel(tag)}Handlers } from "./handlers/${tag}";`);
  return [
    'import express from "express";',
    'import { authenticate } from "./auth";',
    `import { create${model.pascal}Router } from "./generated/router";`,
    ...imports,
    "",
    "export function createApp(options: { validateResponses?: boolean } = {}) {",
    `  const router = create${model.pascal}Router(`,
    `    { ${tags.map((tag) => `...${camel(tag)}Handlers`).join(", ")} },`,
    '    { authenticate, validateResponses: options.validateResponses ?? process.env.NODE_ENV !== "production" },',
    "  );",
    "  const app = express();",
    '  app.disable("x-powered-by");',
    "  app.use(router);",
    "  return { app, ready: router.ready };",
    "}",
    "",
    "if (require.main === module) {",
    "  const { app, ready } = createApp();",
    "  const port = Number(process.env.PORT ?? 8080);",
    "  void ready().then(() =>",
    '    app.listen(port, "127.0.0.1", (error?: Error) => {',
    "      // Express 5 hands a listen error (EADDRINUSE, say) to this callback instead of throwing it.",
    "      if (error) throw error;",
    "      console.log(`listening on http://127.0.0.1:${port}`);",
    "    }),",
    "  );",
    "}",
    "",
  ].join("\n");
}

function packageJson(name: string): string {
  const manifest = {
    name: `${name}-server`,
    version: "0.1.0",
    private: true,
    main: "src/server.ts",
    dependencies: SCAFFOLD_DEPENDENCIES,
  };
  return `${JSON.stringify(manifest, null, 2)}\n`;
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}
