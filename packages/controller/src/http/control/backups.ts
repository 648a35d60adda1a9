import type { ControlHandlers } from "@stowage/control-server";
import type { BackupsService } from "../../services/backups-service";
import type { Stores } from "../../services/control-context";
import { jobEventStream } from "../../services/job-streams";
import type { JobView } from "../../services/jobs-service";
import type { OperatorPrincipal } from "../../services/principal";
import { envelope, serializedEnvelope } from "../envelope";
import { nextLink } from "../next-link";

type Handlers = Pick<
  ControlHandlers<OperatorPrincipal>,
  | "listBackups"
  | "takeBackup"
  | "getBackup"
  | "deleteBackup"
  | "holdBackup"
  | "releaseBackupHold"
  | "verifyBackup"
>;

export function backupHandlers(backups: BackupsService, stores: Stores): Handlers {
  /** A queued job as the spec answers it: the job (JSON), or its events to the outcome (NDJSON). */
  const queued = <Command extends string>(
    command: Command,
    accept: "application/json" | "application/x-ndjson",
    job: JobView,
  ) => {
    const headers = { location: `/v1/jobs/${job.id}` };
    if (accept === "application/x-ndjson") {
      return {
        status: 202 as const,
        contentType: "application/x-ndjson" as const,
        headers,
        body: jobEventStream(stores, job, true),
      };
    }
    return {
      status: 202 as const,
      contentType: "application/json" as const,
      headers,
      body: envelope(command, job),
    };
  };

  return {
    listBackups: (ctx) => {
      const listing = backups.list(ctx, ctx.params.deployment, ctx.query);
      return {
        status: 200,
        headers: nextLink(ctx.req, listing.next_marker),
        body: serializedEnvelope("backups.list", listing.json),
      };
    },
    takeBackup: (ctx) =>
      queued("backups.take", ctx.accept, backups.take(ctx, ctx.params.deployment, ctx.body)),
    getBackup: (ctx) => ({
      status: 200,
      body: envelope("backups.get", backups.get(ctx, ctx.params.deployment, ctx.params.backup)),
    }),
    deleteBackup: (ctx) => ({
      status: 200,
      body: envelope(
        "backups.delete",
        backups.delete(ctx, ctx.params.deployment, ctx.params.backup),
      ),
    }),
    holdBackup: (ctx) => ({
      status: 200,
      body: envelope(
        "backups.hold",
        backups.hold(ctx, ctx.params.deployment, ctx.params.backup, ctx.body?.reason),
      ),
    }),
    releaseBackupHold: (ctx) => ({
      status: 200,
      body: envelope(
        "backups.release_hold",
        backups.release(ctx, ctx.params.deployment, ctx.params.backup),
      ),
    }),
    verifyBackup: (ctx) =>
      queued(
        "backups.verify",
        ctx.accept,
        backups.verify(ctx, ctx.params.deployment, ctx.params.backup),
      ),
  };
}
