import type { ControlHandlers } from "@stowage/control-server";
import type { Stores } from "../../services/control-context";
import { jobEventStream, jobLogStream } from "../../services/job-streams";
import type { JobsService } from "../../services/jobs-service";
import type { OperatorPrincipal } from "../../services/principal";
import { envelope } from "../envelope";
import { nextLink } from "../next-link";

type Handlers = Pick<
  ControlHandlers<OperatorPrincipal>,
  "listJobs" | "getJob" | "cancelJob" | "deleteJob" | "streamJobEvents" | "streamJobLogs"
>;

export function jobHandlers(jobs: JobsService, stores: Stores): Handlers {
  return {
    listJobs: (ctx) => {
      const page = jobs.list(ctx, ctx.query);
      return {
        status: 200,
        headers: nextLink(ctx.req, page.next_marker),
        body: envelope("jobs.list", page),
      };
    },
    getJob: (ctx) => ({ status: 200, body: envelope("jobs.get", jobs.get(ctx, ctx.params.job)) }),
    cancelJob: (ctx) => ({
      status: 200,
      body: envelope("jobs.cancel", jobs.requestCancel(ctx, ctx.params.job)),
    }),
    deleteJob: (ctx) => {
      jobs.delete(ctx, ctx.params.job);
      return { status: 204 };
    },
    streamJobEvents: (ctx) => ({
      status: 200,
      body: jobEventStream(stores, jobs.jobOf(ctx, ctx.params.job), ctx.query.follow ?? false),
    }),
    streamJobLogs: (ctx) => ({
      status: 200,
      body: jobLogStream(
        stores,
        jobs.jobOf(ctx, ctx.params.job),
        ctx.query.follow ?? false,
        ctx.requestId,
      ),
    }),
  };
}
