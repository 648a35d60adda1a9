import { Command, CommanderError } from "commander";
import { stdoutLogger } from "./agent-logger";
import { connectAgent } from "./agent-connection";
import { DEFAULT_STATE_FILE, loadAgentState } from "./agent-state";
import { ConfigWatch } from "./config-watch";
import { enrollAgent } from "./enroll";
import { exitCodeFor } from "./exit-codes";
import { runJobLoop } from "./job-runner";

const stateOption = [
  "--state <file>",
  "where the agent keeps its key and instance id (env STOWAGE_AGENT_STATE)",
  process.env.STOWAGE_AGENT_STATE ?? DEFAULT_STATE_FILE,
] as const;

const program = new Command()
  .name("stowage-agent")
  .description(
    "The reference stowage agent: claims backup, restore and verify jobs from a controller.\n" +
      "Schedules run on the controller, which turns them into jobs; the agent only claims jobs.",
  )
  .exitOverride();

program
  .command("enroll")
  .description("Make a key, enroll it with a one-time token, and keep the identity (mode 0600)")
  .requiredOption("--controller <url>", "the controller's base URL, e.g. http://127.0.0.1:8080")
  .requiredOption("--token <token>", "the one-time enrollment token an operator created")
  .option(...stateOption)
  .option("--hostname <name>", "the host name to report (default: this host's)")
  .option("--force", "replace an identity already in the state file")
  .action(
    async (flags: {
      controller: string;
      token: string;
      state: string;
      hostname?: string;
      force?: boolean;
    }) => {
      const state = await enrollAgent({
        controller: flags.controller,
        token: flags.token,
        stateFile: flags.state,
        hostname: flags.hostname,
        force: flags.force,
      });
      console.log(`enrolled as ${state.instance}; identity saved in ${flags.state}`);
    },
  );

program
  .command("run")
  .description("Fetch the config and claim jobs until SIGTERM or SIGINT")
  .option(...stateOption)
  .action(async (flags: { state: string }) => {
    const state = await loadAgentState(flags.state);
    const client = connectAgent(state);
    const stop = new AbortController();
    for (const signal of ["SIGTERM", "SIGINT"] as const) {
      // The first signal stops claiming and lets a running job finish; a second one exits now.
      process.on(signal, () => {
        if (stop.signal.aborted) process.exit(130);
        stop.abort();
      });
    }
    await runJobLoop(
      {
        client,
        instance: state.instance,
        config: new ConfigWatch(client, state.instance),
        logger: stdoutLogger(),
      },
      stop.signal,
    );
  });

program.parseAsync().then(
  () => process.exit(0),
  (error: unknown) => {
    if (error instanceof CommanderError) {
      // Help and version exit 0; a usage error is a bad request (exit 2).
      process.exit(error.exitCode === 0 ? 0 : 2);
    }
    const cause = error instanceof Error && error.cause ? ` (${String(error.cause)})` : "";
    console.error(
      `stowage-agent: ${error instanceof Error ? error.message : String(error)}${cause}`,
    );
    process.exit(exitCodeFor(error));
  },
);
