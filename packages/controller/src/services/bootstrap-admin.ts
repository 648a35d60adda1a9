import { writeFileSync } from "node:fs";
import path from "node:path";
import type { Stores } from "./control-context";
import { newId, nowIso } from "./identifiers";
import { SYSTEM_ACTOR } from "./principal";
import type { TokensService } from "./tokens-service";

/**
 * On first start (no tenant yet) creates the `default` tenant and an `admin:*` token, and writes
 * the secret to a file only the owner can read. Returns the file's path; the secret itself is
 * never returned to a logger.
 */
export function bootstrapAdmin(
  stores: Stores,
  tokens: TokensService,
  dataDir: string,
): string | undefined {
  const file = path.join(dataDir, "admin-token");
  // The file is written inside the transaction: if it cannot be written, no token exists that
  // nobody can read; if the commit fails after it, the file holds a token that never worked.
  const created = stores.db.transaction(() => {
    if (stores.tenants.count() > 0) return undefined;
    const at = nowIso();
    const tenant = {
      id: newId("ten"),
      name: "default",
      description: "Created on first start.",
      created_at: at,
      updated_at: at,
    };
    stores.tenants.insert(tenant);
    stores.auditLog.append({
      tenantId: tenant.id,
      actor: SYSTEM_ACTOR,
      action: "tenants.create",
      subject: { tenant: tenant.id },
      details: { name: tenant.name },
    });
    writeFileSync(file, `${tokens.bootstrapAdmin(tenant.id)}\n`, { mode: 0o600 });
    return true;
  })();
  return created ? file : undefined;
}
