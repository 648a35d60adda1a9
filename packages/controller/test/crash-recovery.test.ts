import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { createControlClient } from "@stowage/control-client";
import { spawnController } from "./controller-process";

/**
 * kill -9 in the middle of a stream of writes: every write the client saw acknowledged is there
 * after a restart, and the audit chain still verifies (WAL, synchronous=NORMAL, one transaction each).
 */
it("keeps every acknowledged write across SIGKILL, with an intact audit chain", async () => {
  const dataDir = await mkdtemp(path.join(tmpdir(), "stowage-crash-"));
  try {
    const first = await spawnController(dataDir);
    const adminToken = (await readFile(path.join(dataDir, "admin-token"), "utf8")).trim();
    const client = createControlClient({
      baseUrl: first.url,
      auth: { getToken: () => adminToken },
      retry: false,
    });
    const acknowledged: string[] = [];
    let stop = false;
    const writers = Array.from({ length: 4 }, async (_unused, writer) => {
      for (let i = 0; !stop; i++) {
        try {
          const { data } = await client.POST("/v1/tokens", {
            body: { name: `w${writer}-${i}`, verbs: ["backup:read"] },
          });
          if (data) acknowledged.push(data.result.id);
        } catch {
          return; // the connection died with the process
        }
      }
    });
    // Kill once writes are flowing, wherever they are: acknowledged, in flight or not yet sent.
    const deadline = Date.now() + 20_000;
    while (acknowledged.length < 40 && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 20));
    first.child.kill("SIGKILL");
    expect(await first.exited).toBe("SIGKILL");
    stop = true;
    await Promise.all(writers);
    expect(acknowledged.length).toBeGreaterThan(20);

    const second = await spawnController(dataDir);
    try {
      const after = createControlClient({
        baseUrl: second.url,
        auth: { getToken: () => adminToken },
        retry: false,
      });
      const { data } = await after.GET("/v1/tokens", { params: { query: { limit: 1000 } } });
      const present = new Set(data?.result.items.map((token) => token.id));
      expect(acknowledged.filter((id) => !present.has(id))).toEqual([]);
      const chain = await after.POST("/v1/audit/verify-chain");
      expect(chain.data?.result).toMatchObject({ ok: true, first_broken: null });
      expect(chain.data?.result.checked).toBeGreaterThanOrEqual(acknowledged.length);
    } finally {
      second.child.kill("SIGTERM");
      await second.exited;
    }
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}, 60_000);
