import type { Db } from "../store/database";
import { AgentsStore } from "../store/agents-store";
import { AuditStore } from "../store/audit-store";
import { DatabaseChanges } from "../store/database-changes";
import { DeploymentsStore } from "../store/deployments-store";
import { EnrollmentsStore } from "../store/enrollments-store";
import { TargetsStore } from "../store/targets-store";
import { TenantsStore } from "../store/tenants-store";
import { TokensStore } from "../store/tokens-store";
import { ZeebeDeletesStore } from "../store/zeebe-deletes-store";
import { AuditLog } from "./audit-log";
import { createCatalogStores, type CatalogStores } from "./catalog-stores";

/** The stores and the audit log over one database, built once at start (statements prepared once). */
export interface Stores extends CatalogStores {
  db: Db;
  /** Whether the database may have been written: what the read caches ask before their counters. */
  changes: DatabaseChanges;
  tenants: TenantsStore;
  tokens: TokensStore;
  audit: AuditStore;
  auditLog: AuditLog;
  deployments: DeploymentsStore;
  enrollments: EnrollmentsStore;
  agents: AgentsStore;
  targets: TargetsStore;
  zeebeDeletes: ZeebeDeletesStore;
}

export function createStores(db: Db): Stores {
  const audit = new AuditStore(db);
  return {
    db,
    changes: new DatabaseChanges(db),
    tenants: new TenantsStore(db),
    tokens: new TokensStore(db),
    audit,
    auditLog: new AuditLog(audit),
    deployments: new DeploymentsStore(db),
    enrollments: new EnrollmentsStore(db),
    agents: new AgentsStore(db),
    targets: new TargetsStore(db),
    zeebeDeletes: new ZeebeDeletesStore(db),
    ...createCatalogStores(db),
  };
}

/** Who asked and under which request id: what every mutation records in the audit log. */
export interface CallContext<P> {
  principal: P;
  requestId: string;
}
