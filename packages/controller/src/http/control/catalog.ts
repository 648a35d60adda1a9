import type { ControlHandlers } from "@stowage/control-server";
import { BackupsService } from "../../services/backups-service";
import type { Stores } from "../../services/control-context";
import { EventsService } from "../../services/events-service";
import type { JobsService } from "../../services/jobs-service";
import type { OperatorPrincipal } from "../../services/principal";
import { RestoresService } from "../../services/restores-service";
import { backupHandlers } from "./backups";
import { eventHandlers } from "./events";
import { jobHandlers } from "./jobs";
import { restoreHandlers } from "./restores";

/** Backups, restores, jobs and events: the operations over the job state machine. */
export function catalogHandlers(
  stores: Stores,
  jobs: JobsService,
): Partial<ControlHandlers<OperatorPrincipal>> {
  return {
    ...backupHandlers(new BackupsService(stores, jobs), stores),
    ...restoreHandlers(new RestoresService(stores, jobs), stores),
    ...jobHandlers(jobs, stores),
    ...eventHandlers(new EventsService(stores)),
  };
}
