import { ApiError } from "@stowage/server-runtime";
import type { TenantRow } from "../store/tenants-store";
import type { CallContext, Stores } from "./control-context";
import { newId, nowIso } from "./identifiers";
import { pageRequest, toPage } from "./pagination";
import { actorOf, type OperatorPrincipal } from "./principal";

type Call = CallContext<OperatorPrincipal>;

export class TenantsService {
  constructor(private readonly stores: Stores) {}

  create(call: Call, input: { name: string; description?: string }): TenantRow {
    return this.stores.db.transaction(() => {
      if (this.stores.tenants.byName(input.name)) {
        throw new ApiError(409, "resource.conflict", `A tenant named ${input.name} exists.`, {
          subject: { tenant: input.name },
        });
      }
      const at = nowIso();
      const row: TenantRow = {
        id: newId("ten"),
        name: input.name,
        description: input.description ?? null,
        created_at: at,
        updated_at: at,
      };
      this.stores.tenants.insert(row);
      this.stores.auditLog.append({
        tenantId: row.id,
        actor: actorOf(call.principal),
        action: "tenants.create",
        subject: { tenant: row.id },
        details: { name: row.name },
        requestId: call.requestId,
      });
      return row;
    })();
  }

  list(query: { limit?: number; marker?: string }) {
    const request = pageRequest(query);
    return toPage(
      this.stores.tenants.page(request.after ?? "", request.limit + 1),
      request,
      (row) => row.name,
    );
  }

  get(id: string): TenantRow {
    const row = this.stores.tenants.byId(id);
    if (!row)
      throw new ApiError(404, "resource.not_found", `No tenant ${id}.`, {
        subject: { tenant: id },
      });
    return row;
  }

  delete(call: Call, id: string): void {
    this.stores.db.transaction(() => {
      const row = this.get(id);
      if (row.id === call.principal.tenantId) {
        throw new ApiError(409, "resource.conflict", "A token cannot delete its own tenant.", {
          subject: { tenant: id },
          suggestion: { human: "Delete it with an admin token of another tenant." },
        });
      }
      this.stores.tenants.delete(id);
      this.stores.auditLog.append({
        tenantId: call.principal.tenantId,
        actor: actorOf(call.principal),
        action: "tenants.delete",
        subject: { tenant: id },
        details: { name: row.name },
        requestId: call.requestId,
      });
    })();
  }
}
