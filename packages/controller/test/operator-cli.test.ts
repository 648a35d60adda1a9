import { runOperatorCli } from "../src/operator-cli";
import { startTestController, type TestController } from "./test-controller";

let t: TestController;
beforeAll(async () => {
  t = await startTestController();
});
afterAll(() => t.stop());

async function stowage(args: string[], token = t.adminToken) {
  let stdout = "";
  let stderr = "";
  const code = await runOperatorCli(
    ["--url", t.url, ...args],
    { STOWAGE_TOKEN: token },
    (text) => (stdout += text),
    (text) => (stderr += text),
  );
  return { code, stdout, stderr };
}

describe("the stowage operator CLI", () => {
  it("reports readiness as a table", async () => {
    const { code, stdout } = await stowage(["health"]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^STATUS\s+CHECKS\nready\s+store:ok,scheduler:ok\n$/);
  });

  it("creates a token with -o json, shows the secret once, and lists it without", async () => {
    const created = await stowage([
      "-o",
      "json",
      "tokens",
      "create",
      "ci-reader",
      "--verbs",
      "backup:read,audit:read",
    ]);
    expect(created.code).toBe(0);
    const token = JSON.parse(created.stdout) as { id: string; secret: string; verbs: string[] };
    expect(token.verbs).toEqual(["audit:read", "backup:read"]);
    const listed = await stowage(["tokens", "list"]);
    expect(listed.stdout).toContain("ci-reader");
    expect(listed.stdout).not.toContain(token.secret);
    const ndjson = await stowage(["-o", "ndjson", "tokens", "list"]);
    const lines = ndjson.stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { name: string });
    expect(lines.map((line) => line.name)).toContain("ci-reader");

    const audit = await stowage(["audit", "verify"], token.secret);
    expect(audit).toMatchObject({ code: 0 });
    expect(audit.stdout).toMatch(/true/);
  });

  it.each([
    ["a bad token", ["tokens", "list"], "stw_not-a-real-token", 3, /auth\.invalid_token/],
    ["a missing verb", ["tenants", "list"], "reader", 3, /authz\.denied/],
    [
      "an unknown resource",
      ["tokens", "revoke", "tok_missing"],
      undefined,
      6,
      /resource\.not_found/,
    ],
    ["a conflict", ["tenants", "create", "default"], undefined, 7, /resource\.conflict/],
    ["bad usage", ["tokens", "create"], undefined, 2, /required option/],
  ])("exits by the status table for %s", async (_name, args, token, code, message) => {
    let secret = token;
    if (token === "reader") {
      const created = await stowage([
        "-o",
        "json",
        "tokens",
        "create",
        "limited",
        "--verbs",
        "backup:read",
      ]);
      secret = (JSON.parse(created.stdout) as { secret: string }).secret;
    }
    const result = await stowage(args, secret);
    expect(result.code).toBe(code);
    expect(result.stderr).toMatch(message);
  });

  it("lists jobs filtered by state, as the job-limit suggestion says", async () => {
    const queued = await stowage(["-o", "json", "jobs", "list", "--state", "QUEUED"]);
    expect(queued.code).toBe(0);
    expect(JSON.parse(queued.stdout)).toMatchObject({ items: [] });
    const bad = await stowage(["jobs", "list", "--state", "NOPE"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/request\.invalid/);
  });

  it("exits 8 when the controller cannot be reached", async () => {
    let stderr = "";
    const code = await runOperatorCli(
      ["--url", "http://127.0.0.1:9", "health"],
      { STOWAGE_TOKEN: "x" },
      () => undefined,
      (text) => (stderr += text),
    );
    expect(code).toBe(8);
    expect(stderr).toMatch(/cannot reach http:\/\/127\.0\.0\.1:9/);
  });
});
