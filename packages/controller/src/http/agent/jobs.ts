import type { AgentHandlers } from "@stowage/agent-server";
import { requireOwnInstance, type AgentPrincipal } from "../../services/agent-principal";
import type { JobWaiters } from "../../services/job-waiters";
import type { JobsService } from "../../services/jobs-service";

type Handlers = Pick<
  AgentHandlers<AgentPrincipal>,
  "claimJob" | "reportJobProgress" | "completeJob"
>;

export function jobHandlers(jobs: JobsService, waiters: JobWaiters): Handlers {
  return {
    claimJob: async (ctx) => {
      requireOwnInstance(ctx.principal, ctx.params.instance);
      const filter = { kinds: ctx.body?.kinds, deployments: ctx.body?.deployments };
      const deadline = Date.now() + (ctx.query.wait ?? 0) * 1000;
      // A wake is a hint: another poll of the same agent may take the job first, so claim again
      // and wait out the rest of the time when it did.
      for (;;) {
        const job = jobs.claimNextJob(ctx.principal.agentId, filter);
        if (job) return { status: 200, body: job };
        const left = deadline - Date.now();
        if (left <= 0) return { status: 204 };
        const outcome = await waiters.wait(ctx.principal.agentId, left, ctx.signal);
        if (outcome !== "woken") return { status: 204 };
      }
    },
    reportJobProgress: (ctx) => {
      requireOwnInstance(ctx.principal, ctx.params.instance);
      return {
        status: 200,
        body: jobs.reportProgress(ctx.principal.agentId, ctx.params.job, ctx.body),
      };
    },
    completeJob: (ctx) => {
      requireOwnInstance(ctx.principal, ctx.params.instance);
      return {
        status: 200,
        body: jobs.completeJob(ctx.principal.agentId, ctx.params.job, ctx.body),
      };
    },
  };
}
