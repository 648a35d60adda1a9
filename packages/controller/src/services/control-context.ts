import type { Db } from "../store/database";
import { AuditStore } from "../store/audit-store";
import { DeploymentsStore } from "../store/deployments-store";
import { TenantsStore } from "../store/tenants-store";
import { TokensStore } from "../store/tokens-store";
import { AuditLog } from "./audit-log";

/** The stores and the audit log over one database, built once at start (statements prepared once). */
export interface Stores {
  db: Db;
  tenants: TenantsStore;
  tokens: TokensStore;
  audit: AuditStore;
  auditLog: AuditLog;
  deployments: DeploymentsStore;
}

export function createStores(db: Db): Stores {
  const audit = new AuditStore(db);
  return {
    db,
    tenants: new TenantsStore(db),
    tokens: new TokensStore(db),
    audit,
    auditLog: new AuditLog(audit),
    deployments: new DeploymentsStore(db),
  };
}

/** Who asked and under which request id: what every mutation records in the audit log. */
export interface CallContext<P> {
  principal: P;
  requestId: string;
}
