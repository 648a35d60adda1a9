import { Command, CommanderError } from "commander";
import { stdoutLogger } from "./agent-logger";
import { connectAgent } from "./agent-connection";
import { DEFAULT_STATE_FILE, loadAgentState } from "./agent-state";
import { ConfigWatch } from "./config-watch";
import { enrollAgent } from "./enroll";
import { runJobLoop } from "./job-runner";
import { backupNow, EXIT, exitCodeOf, restoreOnce, type OneOffIo } from "./one-off-runs";
import { ProgressDisplay } from "./progress-display";

const stateOption = [
  "--state <file>",
  "where the agent keeps its key and instance id (env STOWAGE_AGENT_STATE)",
  process.env.STOWAGE_AGENT_STATE ?? DEFAULT_STATE_FILE,
] as const;

/**
 * Progress goes to stderr (a live line on a terminal, plain lines elsewhere); the JSON log lines
 * stay on stdout, written around the live line so a terminal showing both is not garbled.
 */
function terminalOutput(): Pick<OneOffIo, "display" | "logger"> {
  const display = new ProgressDisplay(process.stderr);
  const logger = stdoutLogger((line) => display.aside(() => process.stdout.write(line)));
  return { display, logger };
}

/** Aborted by the first SIGTERM or SIGINT; a second one calls `onSecond` (which exits). */
function stopSignal(onSecond: () => never): AbortSignal {
  const stop = new AbortController();
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.on(signal, () => {
      if (stop.signal.aborted) onSecond();
      stop.abort();
    });
  }
  return stop.signal;
}

const program = new Command()
  .name("stowage-agent")
  .description(
    "The reference stowage agent: claims backup, restore and verify jobs from a controller.\n" +
      "Schedules run on the controller, which turns them into jobs; the agent only claims jobs.\n" +
      "backup-now and restore do one backup or restore by hand, without a job.",
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
    // The first signal stops claiming and lets a running job finish; a second one exits now.
    const stop = stopSignal(() => process.exit(130));
    const { display, logger } = terminalOutput();
    await runJobLoop(
      {
        client,
        instance: state.instance,
        config: new ConfigWatch(client, state.instance),
        logger,
        display,
      },
      stop,
    );
  });

program
  .command("backup-now <deployment>")
  .description(
    "Take one backup of a deployment now, as a backup job would, and report it to the catalog",
  )
  .option(...stateOption)
  .addHelpText(
    "after",
    `
The deployment comes from this agent's config on the controller. The backup runs between its
pre/post-backup scripts and is stored in its first file target as <deployment>-000000-<run id>...
(the controller gives it its catalog sequence when the run is reported). The catalog then lists it
COMPLETED with trigger "agent", its sha256 and its location (\`stowage backups list <deployment>\`);
the run's log goes to the controller under the run id.
Progress goes to stderr: one line updated in place on a terminal, plain lines otherwise. The JSON
log lines go to stdout, the last one ("backup succeeded") with sha256, size_bytes and location.

Exit codes: 0 stored and recorded; 1 the backup failed; 3 the controller refused this agent;
4 not enrolled; 6 no such deployment in this agent's config; 8 the controller is unreachable;
130 interrupted (nothing is left stored).`,
  )
  .action(async (deployment: string, flags: { state: string }) => {
    await backupNow(deployment, oneOffIo(flags.state));
  });

program
  .command("restore <deployment>")
  .description("Restore one stored backup, checked against its sha256 first, without a job")
  .requiredOption("--from <location>", "the backup's location: a file:// URL (or a path)")
  .requiredOption("--sha256 <hex>", "the backup's SHA-256, checked before anything is written")
  .option("--to <path>", "sqlite: the database file to write; files: the directory to extract into")
  .option("--database <name>", "postgres, mysql: the database to restore into (a name or URL)")
  .option("--force", "overwrite a destination that is not empty (needed to restore in place)")
  .option("--key-ref <ref>", "the key of an encrypted (.enc) file, if not the deployment's key_ref")
  .option(...stateOption)
  .addHelpText(
    "after",
    `
The location and sha256 of a backup are in the controller's catalog (the operator CLI):
  stowage backups list <deployment>                      # backup ids; sha256 shortened
  stowage backups get <deployment> <backup> -o json      # "sha256", and "locations"[0]."url"

The file is read whole and its sha256 checked before anything is written (and before the
pre-restore scripts run); then it is restored as a restore job restores it, between the
deployment's pre/post-restore scripts. Without --to or --database the backup is restored in
place (the deployment's own file, / for files, its database), which needs --force.
The run is reported to the controller (run events, its log under the run id) when it can be; a
report that fails never fails the restore. Progress goes to stderr, JSON log lines to stdout.

Exit codes: 0 restored; 1 the restore failed; 2 bad arguments; 3 the controller refused this
agent; 4 not enrolled, or in place without --force; 6 no such deployment, or no file at --from;
8 the controller is unreachable; 9 the file does not match --sha256 (nothing was written);
130 interrupted.`,
  )
  .action(
    async (
      deployment: string,
      flags: {
        state: string;
        from: string;
        sha256: string;
        to?: string;
        database?: string;
        force?: boolean;
        keyRef?: string;
      },
    ) => {
      await restoreOnce(deployment, flags, oneOffIo(flags.state));
    },
  );

function oneOffIo(stateFile: string): OneOffIo {
  return {
    stateFile,
    ...terminalOutput(),
    signal: stopSignal(() => process.exit(EXIT.interrupted)),
  };
}

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
    process.exit(exitCodeOf(error));
  },
);
