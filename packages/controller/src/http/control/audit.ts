import type { ControlHandlers } from "@stowage/control-server";
import { presentAuditEntry, type AuditLog } from "../../services/audit-log";
import type { AuditStore } from "../../store/audit-store";
import { pageRequest, toPage } from "../../services/pagination";
import type { OperatorPrincipal } from "../../services/principal";
import { envelope } from "../envelope";
import { nextLink } from "../next-link";

type Handlers = Pick<ControlHandlers<OperatorPrincipal>, "listAuditEntries" | "verifyAuditChain">;

export function auditHandlers(store: AuditStore, log: AuditLog): Handlers {
  return {
    listAuditEntries: (ctx) => {
      const request = pageRequest(ctx.query);
      const rows = store.page(
        ctx.principal.tenantId,
        Number(request.after ?? 0),
        request.limit + 1,
      );
      const page = toPage(rows, request, (row) => String(row.sequence));
      return {
        status: 200,
        headers: nextLink(ctx.req, page.next_marker),
        body: envelope("audit.list", {
          items: page.items.map(presentAuditEntry),
          next_marker: page.next_marker,
        }),
      };
    },
    verifyAuditChain: () => ({
      status: 200,
      body: envelope("audit.verify_chain", log.verifyChain()),
    }),
  };
}
