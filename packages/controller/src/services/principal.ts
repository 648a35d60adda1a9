/** Who is calling the control API: an operator token, bound to one tenant and a set of verbs. */
export interface OperatorPrincipal {
  kind: "token";
  tokenId: string;
  tokenName: string;
  tenantId: string;
  verbs: ReadonlySet<string>;
}

/** `admin:*` grants every verb (DESIGN section 6); anything else is default deny. */
export function grants(principal: OperatorPrincipal, verb: string): boolean {
  return principal.verbs.has("admin:*") || principal.verbs.has(verb);
}

export interface Actor {
  type: "token" | "agent" | "system";
  id: string | null;
  name: string;
}

export function actorOf(principal: OperatorPrincipal): Actor {
  return { type: "token", id: principal.tokenId, name: principal.tokenName };
}

export const SYSTEM_ACTOR: Actor = { type: "system", id: null, name: "stowage-controller" };
