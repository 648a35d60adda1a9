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
    if (!this.seesEveryTenant(call)) {
      throw new ApiError(
        403,
        "authz.denied",
        "Only the root tenant's admin tokens create tenants.",
      );
    }
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

  /** The root tenant's admins page through every tenant; another tenant's see only their own. */
  list(call: Call, query: { limit?: number; marker?: string }) {
    const request = pageRequest(query);
    const rows = this.seesEveryTenant(call)
      ? this.stores.tenants.page(request.after ?? "", request.limit + 1)
      : [this.stores.tenants.byId(call.principal.tenantId)].filter(
          (row): row is TenantRow => row !== undefined && row.name > (request.after ?? ""),
        );
    return toPage(rows, request, (row) => row.name);
  }

  /** A tenant the caller may see; any other is 404, never 403 (existence does not leak). */
  get(call: Call, id: string): TenantRow {
    const row = this.stores.tenants.byId(id);
    if (!row || (row.id !== call.principal.tenantId && !this.seesEveryTenant(call)))
      throw new ApiError(404, "resource.not_found", `No tenant ${id}.`, {
        subject: { tenant: id },
      });
    return row;
  }

  /**
   * Only an empty tenant goes (the spec's deleteTenant): no deployments, targets or active
   * agents, else 409 naming what is left; the root tenant never (409). Its tokens, enrollments
   * and revoked agents cascade with it, and so do the catalog entries deleted deployments left
   * (counted in the audit entry); its audit entries stay, as the chain needs them.
   */
  delete(call: Call, id: string): void {
    this.stores.db.transaction(() => {
      const row = this.get(call, id);
      if (row.id === this.stores.tenants.root()?.id) {
        throw new ApiError(409, "resource.conflict", "The root tenant cannot be deleted.", {
          subject: { tenant: id },
          suggestion: {
            human:
              "The root tenant is the server's first; its admin tokens administer the others. Delete other tenants instead.",
          },
        });
      }
      const contents = this.stores.tenants.contents(row.id);
      const left = (["deployments", "targets", "agents"] as const).filter(
        (kind) => contents[kind] > 0,
      );
      if (left.length > 0) {
        throw new ApiError(
          409,
          "resource.conflict",
          `Tenant ${row.name} still has ${left.map((kind) => `${contents[kind]} ${kind}`).join(", ")}.`,
          {
            subject: {
              tenant: row.id,
              deployments: contents.deployments,
              targets: contents.targets,
              agents: contents.agents,
            },
            suggestion: {
              human:
                "With a token of that tenant, delete its deployments (cancel their jobs first) and targets, and revoke its agents; then delete the tenant.",
              command: "stowage deployments list",
            },
          },
        );
      }
      this.stores.tenants.delete(row.id);
      this.stores.auditLog.append({
        tenantId: call.principal.tenantId,
        actor: actorOf(call.principal),
        action: "tenants.delete",
        subject: { tenant: row.id },
        details: { name: row.name, backups_forgotten: contents.backups },
        requestId: call.requestId,
      });
    })();
  }

  private seesEveryTenant(call: Call): boolean {
    return this.stores.tenants.root()?.id === call.principal.tenantId;
  }
}
