import type { Stores } from "./control-context";
import type { HubMessage } from "./event-hub";

export type WaitOutcome = "woken" | "timeout" | "shutdown" | "aborted";

/**
 * The long polls of `claimJob`, by agent. One hub listener for all of them: a queued (or
 * requeued) job wakes only the polls of the agent that runs its deployment, so thousands of
 * idle agents cost a map entry and a timer each, and no query until there is work for them.
 */
export class JobWaiters {
  private readonly waiting = new Map<string, Set<(outcome: WaitOutcome) => void>>();
  private closed = false;

  constructor(private readonly stores: Stores) {
    stores.eventHub.subscribe((message) => this.hear(message));
  }

  /** Resolves when a job may be waiting for this agent, after `ms`, on shutdown or on abort. */
  wait(agentId: string, ms: number, signal: AbortSignal): Promise<WaitOutcome> {
    if (this.closed) return Promise.resolve("shutdown");
    if (signal.aborted) return Promise.resolve("aborted");
    return new Promise((resolve) => {
      const waiters = this.waiting.get(agentId) ?? new Set();
      this.waiting.set(agentId, waiters);
      const finish = (outcome: WaitOutcome) => {
        clearTimeout(timer);
        signal.removeEventListener("abort", onAbort);
        waiters.delete(finish);
        if (waiters.size === 0 && this.waiting.get(agentId) === waiters)
          this.waiting.delete(agentId);
        resolve(outcome);
      };
      const onAbort = () => finish("aborted");
      const timer = setTimeout(() => finish("timeout"), ms);
      signal.addEventListener("abort", onAbort, { once: true });
      waiters.add(finish);
    });
  }

  /** Long polls held now: tests check a client that left is forgotten. */
  get count(): number {
    let total = 0;
    for (const waiters of this.waiting.values()) total += waiters.size;
    return total;
  }

  private hear(message: HubMessage): void {
    if (message.type === "shutdown") {
      this.closed = true;
      for (const waiters of [...this.waiting.values()])
        for (const finish of [...waiters]) finish("shutdown");
      return;
    }
    if (message.type !== "event" || this.waiting.size === 0) return;
    const { op, deployment_id: deploymentId } = message.event;
    if ((op !== "job_queued" && op !== "requeued") || deploymentId === null) return;
    const agentId = this.stores.deployments.agentOf(deploymentId);
    if (agentId === undefined) return;
    for (const finish of [...(this.waiting.get(agentId) ?? [])]) finish("woken");
  }
}
