import { existsSync } from "node:fs";
import { chromium, type Browser } from "playwright-core";
import { startTestController, type TestController } from "./test-controller";

const CHROMIUM = process.env.STOWAGE_CHROMIUM ?? "/usr/bin/chromium";

/** Debian's chromium: `.ci/run` installs it; a developer machine without it skips, saying so. */
function chromiumAvailable(): boolean {
  if (existsSync(CHROMIUM)) return true;
  if (process.env.CI === "true")
    throw new Error(`${CHROMIUM} is missing (CI=true requires it: apt-get install -y chromium)`);
  console.warn(
    `skipping the /docs browser test: ${CHROMIUM} is missing (apt-get install -y chromium)`,
  );
  return false;
}

(chromiumAvailable() ? describe : describe.skip)(
  "the /docs reference page in headless Chromium",
  () => {
    let t: TestController;
    let browser: Browser;
    beforeAll(async () => {
      t = await startTestController();
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        // The machine has no network beyond loopback: keep Chromium from trying to reach Google.
        args: [
          "--no-sandbox",
          "--disable-gpu",
          "--disable-quic",
          "--no-first-run",
          "--disable-background-networking",
          "--disable-component-update",
          "--disable-sync",
        ],
      });
    }, 60_000);
    afterAll(async () => {
      await browser?.close();
      await t?.stop();
    });

    it("renders the served spec with its operations listed", async () => {
      const page = await browser.newPage();
      const failed: string[] = [];
      page.on("requestfailed", (request) => failed.push(request.url()));
      await page.goto(`${t.url}/docs`);
      await page.waitForSelector(".opblock", { timeout: 20_000 });
      const paths = await page.$$eval(".opblock-summary-path", (nodes) =>
        nodes.map((node) => node.getAttribute("data-path")),
      );
      expect(paths).toEqual(
        expect.arrayContaining([
          "/v1/deployments/{deployment}/backups",
          "/v1/tokens",
          "/v1/audit/verify-chain",
        ]),
      );
      expect(await page.title()).toBe("stowage control API");
      expect(failed).toEqual([]);
    }, 60_000);
  },
);
