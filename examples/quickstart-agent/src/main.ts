import { setTimeout as delay } from "node:timers/promises";
import { StowageApiError } from "@stowage/agent-client";
import { enroll, runOneJob } from "./quickstart-agent";

/** `node dist/main.js <controller URL> <enrollment token>`: enroll, then take backup jobs until SIGTERM. */
async function main(baseUrl: string, enrollmentToken: string): Promise<void> {
  const agent = await enroll(baseUrl, enrollmentToken);
  console.log(`enrolled as ${agent.instance}: point a files deployment's driver.agent_id here`);
  // The signal only ends a waiting claim: a job already running is finished and reported first.
  const stop = new AbortController();
  for (const signal of ["SIGTERM", "SIGINT"] as const) process.once(signal, () => stop.abort());
  while (!stop.signal.aborted) {
    try {
      const outcome = await runOneJob(agent, 30, stop.signal);
      if (outcome !== "idle") console.log(`backup job ${outcome}`);
    } catch (error) {
      if (stop.signal.aborted) break;
      // A revoked agent stays revoked, and the one-time token is spent: retrying cannot help.
      if (error instanceof StowageApiError && (error.status === 401 || error.status === 403)) {
        throw error;
      }
      console.error(`claim failed, retrying in 5 s: ${String(error)}`);
      await delay(5000);
    }
  }
}

const [baseUrl, token] = process.argv.slice(2);
if (!baseUrl || !token) {
  console.error("usage: quickstart-agent <controller URL> <enrollment token>");
  process.exitCode = 2;
} else {
  main(baseUrl, token).catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  });
}
