import { randomUUID } from "node:crypto";
import { setTimeout as delay } from "node:timers/promises";
import { StowageApiError, type AgentClient, type components } from "@stowage/agent-client";
import type { ResultManifest } from "./pipelines/backup";

type Schemas = components["schemas"];
type AgentEvent = Schemas["AgentEvent"];
/** An event without the fields every event of this run carries the same way. */
type EventBody<T> = T extends AgentEvent ? Omit<T, "id" | "run"> : never;

/** Phases whose bytes are the stored artifact's (the controller takes a run's size from `upload`). */
const STORING_PHASES = ["upload", "dump"];
/** Further attempts when the controller could not be reached at all (refusals are not retried). */
const NETWORK_RETRIES = 2;

/**
 * The structured events of a run that has no job (POST /engines/telemetry/{instance}/events): how
 * a one-off `backup-now` reaches the catalog. The controller places a jobless backup run by the
 * `deployment` of its `run.started`, reserves it the deployment's next sequence (trigger `agent`,
 * IN_PROGRESS), and `run.succeeded` makes it COMPLETED with the size, sha256 and location it
 * carries, the target from `phase.finished` and the phase timings; `run.failed` makes it FAILED
 * (services/agent-events in the controller). Each event has its own id, so sending a batch again
 * after a lost answer stores it once.
 */
export class RunEvents {
  constructor(
    private readonly client: AgentClient,
    private readonly instance: string,
    readonly run: string,
  ) {}

  started(deployment: string, operation: "backup" | "restore"): Promise<void> {
    return this.send([
      {
        type: "run.started",
        at: new Date().toISOString(),
        deployment,
        operation,
        trigger: "manual",
      },
    ]);
  }

  /** The phases (with their timings) and the end of a run whose manifest is `manifest`. */
  succeeded(manifest: ResultManifest): Promise<void> {
    const storing = manifest.timings.find((timing) => STORING_PHASES.includes(timing.phase));
    let at = Date.parse(manifest.started_at);
    const phases = manifest.timings.map((timing): EventBody<AgentEvent> => {
      at += timing.duration_ms;
      return {
        type: "phase.finished",
        at: new Date(Math.min(at, Date.parse(manifest.finished_at))).toISOString(),
        phase: timing.phase,
        status: "ok",
        duration_ms: timing.duration_ms,
        ...(timing === storing
          ? {
              ...(timing.phase === "upload" ? { bytes: manifest.size_bytes } : {}),
              ...(manifest.target !== undefined ? { target: manifest.target } : {}),
            }
          : {}),
      };
    });
    return this.send([
      ...phases,
      {
        type: "run.succeeded",
        at: manifest.finished_at,
        duration_ms: durationMs(manifest.started_at, manifest.finished_at),
        bytes: manifest.size_bytes,
        sha256: manifest.sha256,
        location: manifest.location,
      },
    ]);
  }

  failed(message: string, startedAt: Date, phase?: string): Promise<void> {
    const at = new Date();
    return this.send([
      {
        type: "run.failed",
        at: at.toISOString(),
        duration_ms: Math.max(0, at.getTime() - startedAt.getTime()),
        message,
        // Only a pipeline phase: a run that failed before any has none to name.
        ...(phase !== undefined && /^[a-z][a-z0-9_ -]*$/.test(phase) ? { phase } : {}),
      },
    ]);
  }

  /** Sends one batch; throws a StowageApiError when refused, the network error when unreachable. */
  private async send(bodies: EventBody<AgentEvent>[]): Promise<void> {
    const events = bodies.map(
      (body) => ({ ...body, id: randomUUID(), run: this.run }) as AgentEvent,
    );
    for (let attempt = 0; ; attempt++) {
      try {
        const { response, error } = await this.client.POST("/engines/telemetry/{instance}/events", {
          params: { path: { instance: this.instance } },
          body: { events },
        });
        if (!response.ok) throw new StowageApiError(response.status, error, response, undefined);
        return;
      } catch (error) {
        // The same ids again: events the controller already stored count as duplicates.
        if (error instanceof StowageApiError || attempt >= NETWORK_RETRIES) throw error;
        await delay(500 * 2 ** attempt);
      }
    }
  }
}

function durationMs(from: string, to: string): number {
  return Math.max(0, Date.parse(to) - Date.parse(from));
}
