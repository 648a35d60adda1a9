import type { ControlHandlers } from "@stowage/control-server";
import type { OperatorPrincipal } from "../../services/principal";

type Mutations = Pick<
  ControlHandlers<OperatorPrincipal>,
  "createDeployment" | "updateDeployment" | "deleteDeployment"
>;

/**
 * The deployment handlers, telling `changed` after a create, update or delete answered: the
 * scheduler re-plans at once instead of sleeping through a new schedule's first slot. The
 * services commit synchronously, so the change is in the store when it is told; a refused change
 * throws and tells nothing.
 */
export function tellingDeploymentChanges<H extends Mutations>(
  handlers: H,
  changed: (() => void) | undefined,
): H {
  if (!changed) return handlers;
  return {
    ...handlers,
    createDeployment: after(handlers.createDeployment, changed),
    updateDeployment: after(handlers.updateDeployment, changed),
    deleteDeployment: after(handlers.deleteDeployment, changed),
  };
}

function after<Args extends unknown[], Result>(
  handler: (...args: Args) => Result,
  effect: () => void,
): (...args: Args) => Result {
  return (...args) => {
    const result = handler(...args);
    if (result instanceof Promise) void result.then(effect, () => undefined);
    else effect();
    return result;
  };
}
