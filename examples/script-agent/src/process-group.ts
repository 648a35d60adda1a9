import { setTimeout as delay } from "node:timers/promises";

/** How often a stopping group is looked at: a script that honours SIGTERM is gone in a few. */
const POLL_MS = 25;

/**
 * Stops the process group `pgid` leads (a phase's shell started `detached`, and everything it
 * started in turn, such as `sleep 300 &`): SIGTERM to every member, then SIGKILL to the group if
 * a member is still there after `graceMs`. Resolves once the group is empty or was sent SIGKILL.
 */
export async function stopProcessGroup(pgid: number, graceMs: number): Promise<void> {
  if (!signalGroup(pgid, "SIGTERM")) return;
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    await delay(POLL_MS);
    if (!signalGroup(pgid, 0)) return;
  }
  signalGroup(pgid, "SIGKILL");
}

/** Sends `signal` to every member of the group (0: none, only the check); false when it is empty. */
function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    // A negative pid addresses the whole process group (kill(2)).
    process.kill(-pgid, signal);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ESRCH") return false;
    throw error;
  }
}
