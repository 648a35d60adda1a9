import { Command, Option } from "commander";
import { registerCommands } from "./operator-cli/commands";
import {
  CliExit,
  openSession,
  unreachable,
  type GlobalOptions,
  type OperatorSession,
} from "./operator-cli/operator-session";

/**
 * `stowage`: the operator CLI over the generated control client. Exit codes follow the HTTP
 * status of the answer (DESIGN section 4), so scripts can branch on them.
 */
export async function runOperatorCli(
  argv: string[],
  env: NodeJS.ProcessEnv,
  out: (text: string) => void,
  err: (text: string) => void,
): Promise<number> {
  const program = new Command()
    .name("stowage")
    .description("Operate a stowage controller.")
    .option(
      "--url <url>",
      "controller URL (env STOWAGE_URL)",
      env.STOWAGE_URL ?? "http://127.0.0.1:8080",
    )
    .option(
      "--token-file <file>",
      "file holding the token (env STOWAGE_TOKEN_FILE; STOWAGE_TOKEN wins)",
    )
    .addOption(
      new Option("-o, --output <format>", "output format")
        .choices(["table", "json", "ndjson"])
        .default("table"),
    )
    .exitOverride()
    .configureOutput({ writeOut: out, writeErr: err });
  let session: OperatorSession | undefined;
  registerCommands(
    program,
    () => (session ??= openSession(program.opts<GlobalOptions>(), env, out, err)),
  );
  try {
    await program.parseAsync(argv, { from: "user" });
    return 0;
  } catch (error) {
    if (error instanceof CliExit) {
      err(`${error.message}\n`);
      return error.code;
    }
    const commanderError = error as { code?: string; exitCode?: number };
    if (commanderError.code?.startsWith("commander.")) {
      return commanderError.code === "commander.helpDisplayed" ||
        commanderError.code === "commander.version"
        ? 0
        : 2;
    }
    // Not `instanceof TypeError`: undici's errors come from Node's own realm.
    if ((error as Error | undefined)?.message === "fetch failed") {
      const failure = unreachable(program.opts<GlobalOptions>().url, error);
      err(`${failure.message}\n`);
      return failure.code;
    }
    throw error;
  }
}

/** The `stowage` binary's entry: real streams, real exit code. */
export function main(): void {
  void runOperatorCli(
    process.argv.slice(2),
    process.env,
    (text) => process.stdout.write(text),
    (text) => process.stderr.write(text),
  ).then((code) => {
    process.exitCode = code;
  });
}
