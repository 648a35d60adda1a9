import { once } from "node:events";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import type { Express } from "express";
import { SCAFFOLD_DEPENDENCIES } from "../src/scaffold-dependencies";
import { typeCheck } from "./compile-generated";
import { runCodegen } from "./run-codegen";

const ROOT = path.resolve(__dirname, "..", "..", "..");

describe("stowage-codegen scaffold", () => {
  let out: string;
  let server: Server;
  let url: string;

  beforeAll(async () => {
    // Inside the repository, so the scaffold's imports resolve as they would in a workspace.
    out = await mkdtemp(path.join(__dirname, "..", ".scaffold-"));
    const spec = path.join("packages", "codegen", "test", "fixtures", "fixture-api.yaml");
    const result = await runCodegen(
      ["scaffold", "--spec", spec, "--out", out, "--name", "fixture"],
      ROOT,
    );
    expect(result.stderr).toBe("");
    process.env.API_TOKEN = "scaffold-secret";
    const { createApp } = (await import(path.join(out, "src", "server.ts"))) as {
      createApp(options: { validateResponses: boolean }): { app: Express; ready(): Promise<void> };
    };
    const { app, ready } = createApp({ validateResponses: true });
    await ready();
    server = app.listen(0, "127.0.0.1");
    await once(server, "listening");
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }, 60_000);

  afterAll(async () => {
    server?.close();
    delete process.env.API_TOKEN;
    await rm(out, { recursive: true, force: true });
  });

  it("writes the generated stubs, a module per tag, auth, server and package.json", async () => {
    expect((await readdir(path.join(out, "src", "handlers"))).sort()).toEqual([
      "events.ts",
      "faults.ts",
      "items.ts",
    ]);
    expect((await readdir(path.join(out, "src"))).sort()).toEqual([
      "auth.ts",
      "generated",
      "handlers",
      "server.ts",
    ]);
    const manifest = JSON.parse(await readFile(path.join(out, "package.json"), "utf8")) as {
      dependencies: Record<string, string>;
    };
    expect(manifest.dependencies).toEqual(SCAFFOLD_DEPENDENCIES);
  });

  it("pins the dependencies stowage's own packages pin", async () => {
    const runtime = JSON.parse(
      await readFile(path.join(ROOT, "packages", "server-runtime", "package.json"), "utf8"),
    ) as {
      version: string;
      dependencies: Record<string, string>;
    };
    expect(SCAFFOLD_DEPENDENCIES).toEqual({
      "@stowage/server-runtime": runtime.version,
      express: runtime.dependencies.express,
      zod: runtime.dependencies.zod,
    });
  });

  it("type-checks as written", async () => {
    const files = [path.join(out, "src", "server.ts")];
    expect(typeCheck(files)).toEqual([]);
  }, 60_000);

  it("answers 401 without the token, then 410 for a placeholder, before validating the body", async () => {
    expect((await fetch(`${url}/items`)).status).toBe(401);
    const response = await fetch(`${url}/items`, {
      method: "POST",
      headers: { authorization: "Bearer scaffold-secret", "content-type": "application/json" },
      body: JSON.stringify({ not: "an item" }),
    });
    expect(response.status).toBe(410);
    expect(await response.json()).toMatchObject({ error: { code: "resource.gone" } });
  });
});
