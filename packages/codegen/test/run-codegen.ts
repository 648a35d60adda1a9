import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
const CLI = path.join(__dirname, "..", "src", "cli.ts");

/**
 * Runs the real CLI in its own Node process: openapi-typescript requires ESM-only packages, which
 * Node 20 loads natively and jest's module runtime cannot.
 */
export async function runCodegen(
  args: string[],
  cwd: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(
      process.execPath,
      ["-r", require.resolve("ts-node/register/transpile-only"), CLI, ...args],
      {
        cwd,
        env: {
          ...process.env,
          TS_NODE_PROJECT: path.join(__dirname, "..", "..", "..", "tsconfig.json"),
        },
      },
    );
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return {
      code: typeof failed.code === "number" ? failed.code : 1,
      stdout: failed.stdout ?? "",
      stderr: failed.stderr ?? "",
    };
  }
}
