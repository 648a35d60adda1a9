import { BackupsStore } from "../store/backups-store";
import type { Db } from "../store/database";
import { EventsStore } from "../store/events-store";
import { JobsStore } from "../store/jobs-store";
import { RestoresStore } from "../store/restores-store";
import { EventHub } from "./event-hub";
import { EventLog } from "./event-log";

/** The backup catalog, jobs, restores and events, with the hub that tells streams of new events. */
export interface CatalogStores {
  backups: BackupsStore;
  jobs: JobsStore;
  restores: RestoresStore;
  events: EventsStore;
  /** One per controller: every service that records events and every stream share it. */
  eventHub: EventHub;
  eventLog: EventLog;
}

export function createCatalogStores(db: Db): CatalogStores {
  const events = new EventsStore(db);
  const eventHub = new EventHub();
  return {
    backups: new BackupsStore(db),
    jobs: new JobsStore(db),
    restores: new RestoresStore(db),
    events,
    eventHub,
    eventLog: new EventLog(events, eventHub),
  };
}
