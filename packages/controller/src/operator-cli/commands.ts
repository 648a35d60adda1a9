import { Option, type Command } from "commander";
import type { components } from "@stowage/control-client";
import { registerAgentCommands } from "./agent-commands";
import { deploymentPatchFrom, type DeploymentUpdateOptions } from "./deployment-patch";
import { VERIFY_FAILED_EXIT } from "./exit-codes";
import { bodyFrom, repeated, wholeNumber } from "./inputs";
import { CliExit, failure, type OpenSession, type OperatorSession } from "./operator-session";
import { when } from "./output";
import { registerTargetCommands } from "./target-commands";

type Schemas = components["schemas"];

export function registerCommands(program: Command, session: OpenSession): void {
  program
    .command("health")
    .description("Is the controller up and ready?")
    .action(async () => {
      const s = session();
      s.show(await s.client.GET("/v1/readyz"), {
        status: (r) => r.status,
        checks: (r) => r.checks.map((c) => `${c.name}:${c.ok ? "ok" : "FAIL"}`),
      });
    });

  const tenants = program.command("tenants").description("Tenants (admin:*)");
  tenants.command("list").action(async () => {
    const s = session();
    s.show(
      await s.client.GET("/v1/tenants", { params: { query: { limit: 1000 } } }),
      tenantColumns,
    );
  });
  tenants
    .command("create <name>")
    .option("--description <text>")
    .action(async (name: string, options: { description?: string }) => {
      const s = session();
      s.show(
        await s.client.POST("/v1/tenants", { body: { name, description: options.description } }),
        tenantColumns,
      );
    });
  tenants.command("delete <tenant>").action(async (tenant: string) => {
    const s = session();
    const { response, error } = await s.client.DELETE("/v1/tenants/{tenant}", {
      params: { path: { tenant } },
    });
    if (!response.ok) throw failure(response.status, error);
  });

  const tokens = program.command("tokens").description("Operator tokens (token:manage)");
  tokens.command("list").action(async () => {
    const s = session();
    s.show(await s.client.GET("/v1/tokens", { params: { query: { limit: 1000 } } }), tokenColumns);
  });
  tokens
    .command("create <name>")
    .requiredOption("--verbs <verbs>", "comma-separated, e.g. backup:read,backup:create")
    .option("--tenant <id>", "another tenant (needs admin:*)")
    .option("--expires-at <time>", "RFC 3339")
    .action(
      async (name: string, options: { verbs: string; tenant?: string; expiresAt?: string }) => {
        const s = session();
        const verbs = options.verbs.split(",").map((verb) => verb.trim()) as Schemas["Verb"][];
        const answer = await s.client.POST("/v1/tokens", {
          body: { name, verbs, tenant_id: options.tenant, expires_at: options.expiresAt },
        });
        s.show(answer, { ...tokenColumns, secret: (row) => row.secret });
        if (s.output === "table") s.note("The secret is shown once: store it now.");
      },
    );
  tokens.command("revoke <token>").action(async (token: string) => {
    const s = session();
    s.show(
      await s.client.DELETE("/v1/tokens/{token}", { params: { path: { token } } }),
      tokenColumns,
    );
  });

  registerAgentCommands(program, session);
  registerTargetCommands(program, session);

  const deployments = program.command("deployments").description("What is backed up");
  deployments.command("list").action(async () => {
    const s = session();
    s.show(
      await s.client.GET("/v1/deployments", { params: { query: { limit: 1000 } } }),
      deploymentColumns,
    );
  });
  deployments.command("get <deployment>").action(async (deployment: string) => {
    const s = session();
    s.show(
      await s.client.GET("/v1/deployments/{deployment}", { params: { path: { deployment } } }),
      deploymentColumns,
    );
  });
  deployments
    .command("update <deployment>")
    .description("Change a deployment: a merge patch, so what is not given keeps its value")
    .option(
      "-f, --file <file>",
      "a DeploymentUpdate patch as YAML or JSON (- for stdin); flags win",
    )
    .option("--name <name>", "rename it")
    .option("--description <text>")
    .option("--pause", "schedules make no jobs (manual backups still run)")
    .option("--resume", "schedules make jobs again")
    .option("--schedule <cron>", "a full-backup schedule; repeat for more (replaces all)", repeated)
    .option("--incremental-schedule <cron>", "an incremental-backup schedule; repeatable", repeated)
    .option("--time-zone <zone>", "IANA time zone of the schedules given (default UTC)")
    .option("--clear-schedules", "no schedules: backups on demand only")
    .option("--target <id>", "a target id; repeat for more (replaces all)", repeated)
    .option("--keep-last <n>", "retention: the N newest backups", wholeNumber)
    .option("--keep-daily <n>", "retention: one a day for N days", wholeNumber)
    .option("--keep-weekly <n>", "retention: one a week for N weeks", wholeNumber)
    .option("--keep-monthly <n>", "retention: one a month for N months", wholeNumber)
    .addOption(new Option("--compression <compression>").choices(["gzip", "none"]))
    .option(
      "--encryption-key-ref <ref>",
      "encrypt new backups with the key at file:/... or env:NAME",
    )
    .option("--no-encryption", "new backups are not encrypted")
    .option("--agent <agent>", "run it on this pull agent")
    .option("--password-file <file>", "file holding the database password (- for stdin)")
    .action(async (deployment: string, options: DeploymentUpdateOptions) => {
      const s = session();
      const patch = await deploymentPatchFrom(options, async () => {
        const stored = await s.client.GET("/v1/deployments/{deployment}", {
          params: { path: { deployment } },
        });
        if (!stored.data) throw failure(stored.response.status, stored.error);
        return stored.data.result;
      });
      s.show(
        await s.client.PATCH("/v1/deployments/{deployment}", {
          params: { path: { deployment } },
          body: patch,
        }),
        deploymentColumns,
      );
    });
  deployments
    .command("create")
    .requiredOption("-f, --file <file>", "the deployment as YAML or JSON (- for stdin)")
    .action(async (options: { file: string }) => {
      const s = session();
      s.show(
        await s.client.POST("/v1/deployments", { body: bodyFrom(options.file) }),
        deploymentColumns,
      );
    });
  deployments.command("delete <deployment>").action(async (deployment: string) => {
    const s = session();
    const { response, error } = await s.client.DELETE("/v1/deployments/{deployment}", {
      params: { path: { deployment } },
    });
    if (!response.ok) throw failure(response.status, error);
  });

  const backups = program.command("backups").description("The backup catalog");
  backups
    .command("list <deployment>")
    .option("--state <state>")
    .option("--limit <n>", "page size", "50")
    .action(
      async (deployment: string, options: { state?: Schemas["BackupState"]; limit: string }) => {
        const s = session();
        const answer = await s.client.GET("/v1/deployments/{deployment}/backups", {
          params: {
            path: { deployment },
            query: { state: options.state, limit: Number(options.limit) },
          },
        });
        s.show(answer, backupColumns);
      },
    );
  backups
    .command("get <deployment> <backup>")
    .action(async (deployment: string, backup: string) => {
      const s = session();
      s.show(
        await s.client.GET("/v1/deployments/{deployment}/backups/{backup}", {
          params: { path: { deployment, backup } },
        }),
        backupColumns,
      );
    });
  backups
    .command("take <deployment>")
    .option("--follow", "stream progress until the job ends")
    .option("--sequence <n>", "the backup's sequence (must be higher than the last)")
    .action(async (deployment: string, options: { follow?: boolean; sequence?: string }) => {
      const s = session();
      const body = options.sequence ? { sequence: Number(options.sequence) } : {};
      if (!options.follow) {
        s.show(
          await s.client.requestAs(
            "post",
            "/v1/deployments/{deployment}/backups",
            "application/json",
            {
              params: { path: { deployment } },
              body,
            },
          ),
          jobColumns,
        );
        return;
      }
      await followFrames(
        s,
        s.client.streamNdjson("post", "/v1/deployments/{deployment}/backups", {
          params: { path: { deployment } },
          body,
        }),
      );
    });
  backups
    .command("delete <deployment> <backup>")
    .action(async (deployment: string, backup: string) => {
      const s = session();
      s.show(
        await s.client.DELETE("/v1/deployments/{deployment}/backups/{backup}", {
          params: { path: { deployment, backup } },
        }),
        backupColumns,
      );
    });
  backups
    .command("hold <deployment> <backup>")
    .option("--reason <text>")
    .action(async (deployment: string, backup: string, options: { reason?: string }) => {
      const s = session();
      const answer = await s.client.POST("/v1/deployments/{deployment}/backups/{backup}/hold", {
        params: { path: { deployment, backup } },
        body: { reason: options.reason },
      });
      s.show(answer, backupColumns);
    });
  backups
    .command("release <deployment> <backup>")
    .action(async (deployment: string, backup: string) => {
      const s = session();
      s.show(
        await s.client.DELETE("/v1/deployments/{deployment}/backups/{backup}/hold", {
          params: { path: { deployment, backup } },
        }),
        backupColumns,
      );
    });
  backups
    .command("verify <deployment> <backup>")
    .action(async (deployment: string, backup: string) => {
      const s = session();
      s.show(
        await s.client.requestAs(
          "post",
          "/v1/deployments/{deployment}/backups/{backup}/verify",
          "application/json",
          {
            params: { path: { deployment, backup } },
          },
        ),
        jobColumns,
      );
    });

  program
    .command("restore <deployment>")
    .description("Restore a backup (pre-flight checks refuse with exit 4)")
    .option("--backup <id>", "a backup id, or latest", "latest")
    .option("--target <target>", "where to restore (default: the deployment itself)")
    .option("--force", "overwrite a target that is not empty")
    .action(
      async (deployment: string, options: { backup: string; target?: string; force?: boolean }) => {
        const s = session();
        const answer = await s.client.requestAs(
          "post",
          "/v1/deployments/{deployment}/restores",
          "application/json",
          {
            params: { path: { deployment } },
            body: {
              backup_id: options.backup,
              target: options.target,
              force: options.force === true,
            },
          },
        );
        s.show(answer, {
          id: (r) => r.id,
          backup: (r) => r.backup_id,
          job: (r) => r.job_id,
          status: (r) => r.status,
        });
      },
    );

  const jobs = program.command("jobs").description("Backup, restore, verify and delete jobs");
  jobs
    .command("list")
    .option("--deployment <deployment>")
    .option("--state <status>", "QUEUED, RUNNING, SUCCEEDED, FAILED or CANCELLED")
    .option("--kind <kind>", "backup, restore, verify or delete")
    .action(
      async (options: {
        deployment?: string;
        state?: Schemas["JobStatus"];
        kind?: Schemas["JobKind"];
      }) => {
        const s = session();
        s.show(
          await s.client.GET("/v1/jobs", {
            params: {
              query: {
                deployment: options.deployment,
                state: options.state,
                kind: options.kind,
                limit: 1000,
              },
            },
          }),
          jobColumns,
        );
      },
    );
  jobs.command("get <job>").action(async (job: string) => {
    const s = session();
    s.show(await s.client.GET("/v1/jobs/{job}", { params: { path: { job } } }), jobColumns);
  });
  jobs.command("cancel <job>").action(async (job: string) => {
    const s = session();
    s.show(await s.client.POST("/v1/jobs/{job}/cancel", { params: { path: { job } } }), jobColumns);
  });
  jobs
    .command("events <job>")
    .option("--follow", "keep streaming until the job ends")
    .action(async (job: string, options: { follow?: boolean }) => {
      const s = session();
      await followFrames(
        s,
        s.client.streamNdjson("get", "/v1/jobs/{job}/events", {
          params: { path: { job }, query: { follow: options.follow === true } },
        }),
      );
    });

  const audit = program.command("audit").description("The audit log (audit:read)");
  audit.command("list").action(async () => {
    const s = session();
    const answer = await s.client.GET("/v1/audit", { params: { query: { limit: 1000 } } });
    s.show(answer, {
      sequence: (r) => r.sequence,
      at: (r) => r.at,
      actor: (r) => r.actor.name,
      action: (r) => r.action,
      subject: (r) => r.subject,
    });
  });
  audit.command("verify").action(async () => {
    const s = session();
    const result = s.show(await s.client.POST("/v1/audit/verify-chain"), {
      ok: (r) => r.ok,
      checked: (r) => r.checked,
      first_broken: (r) =>
        r.first_broken ? `#${r.first_broken.sequence} ${r.first_broken.reason}` : null,
    });
    if (!result.ok) throw new CliExit(VERIFY_FAILED_EXIT, "the audit chain is broken");
  });

  program
    .command("doctor")
    .description("Problems with each deployment, and what to do about them")
    .action(async () => {
      const s = session();
      const answer = await s.client.GET("/v1/doctor");
      if (!answer.data) throw failure(answer.response.status, answer.error);
      s.write(JSON.stringify(answer.data.result, null, 2) + "\n");
    });
}

/** Prints NDJSON frames as they arrive; a stream that ends with an error frame fails the command. */
async function followFrames(
  s: OperatorSession,
  frames: AsyncIterable<Schemas["StreamEvent"]>,
): Promise<void> {
  for await (const frame of frames) {
    if (s.output === "table")
      s.write(
        `${frame.at}  ${frame.severity.padEnd(5)}  ${frame.op}  ${JSON.stringify(frame.body)}\n`,
      );
    else s.write(`${JSON.stringify(frame)}\n`);
    if (frame.op === "error") {
      const status = (frame.body as { status?: number }).status ?? 500;
      throw failure(status, { error: frame.body });
    }
  }
}

const tenantColumns = {
  id: (r: Schemas["Tenant"]) => r.id,
  name: (r: Schemas["Tenant"]) => r.name,
  created: (r: Schemas["Tenant"]) => r.created_at,
};
const tokenColumns = {
  id: (r: Schemas["Token"]) => r.id,
  name: (r: Schemas["Token"]) => r.name,
  verbs: (r: Schemas["Token"]) => r.verbs,
  state: (r: Schemas["Token"]) => r.state,
  prefix: (r: Schemas["Token"]) => r.prefix,
  expires: (r: Schemas["Token"]) => when(r.expires_at),
};
const deploymentColumns = {
  id: (r: Schemas["Deployment"]) => r.id,
  name: (r: Schemas["Deployment"]) => r.name,
  kind: (r: Schemas["Deployment"]) => r.kind,
  driver: (r: Schemas["Deployment"]) => r.driver.type,
  paused: (r: Schemas["Deployment"]) => r.paused,
  next_run: (r: Schemas["Deployment"]) => when(r.next_run_at),
};
const backupColumns = {
  sequence: (r: Schemas["Backup"]) => r.sequence,
  id: (r: Schemas["Backup"]) => r.id,
  state: (r: Schemas["Backup"]) => r.state,
  created: (r: Schemas["Backup"]) => r.created_at,
  sha256: (r: Schemas["Backup"]) => r.sha256?.slice(0, 12),
  hold: (r: Schemas["Backup"]) => r.hold,
};
const jobColumns = {
  id: (r: Schemas["Job"]) => r.id,
  kind: (r: Schemas["Job"]) => r.kind,
  status: (r: Schemas["Job"]) => r.status,
  phase: (r: Schemas["Job"]) => r.phase,
  created: (r: Schemas["Job"]) => r.created_at,
};
