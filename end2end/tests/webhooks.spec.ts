import { createHmac } from "node:crypto";
import http from "node:http";
import { AddressInfo } from "node:net";

import { test, expect, follow, login } from "./fixtures";

// The loopback URL without the opt-in is refused (422), which the browser reports.
test.use({ expectedConsoleErrors: [/status of 422/] });

type Hit = { id: string; signature: string; body: string };

/** A tiny receiver on a loopback port that records each request and answers 200. */
async function receiver(): Promise<{ url: string; hits: Hit[]; close: () => void }> {
  const hits: Hit[] = [];
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (chunk) => (body += chunk));
    req.on("end", () => {
      hits.push({
        id: String(req.headers["x-tuijian-event-id"]),
        signature: String(req.headers["x-tuijian-signature"]),
        body,
      });
      res.writeHead(200, { "content-type": "text/plain" });
      res.end("ok from the e2e receiver");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return { url: `http://127.0.0.1:${port}/hook`, hits, close: () => server.close() };
}

/** The README's check: HMAC-SHA256 of "<t>.<body>" with the secret, hex, in a v1 entry. */
function verifies(hit: Hit, secret: string): boolean {
  const parts = hit.signature.split(",").map((p) => p.split("="));
  const t = parts.find(([k]) => k === "t")?.[1];
  const expected = createHmac("sha256", secret).update(`${t}.${hit.body}`).digest("hex");
  return parts.some(([k, v]) => k === "v1" && v === expected);
}

test("an admin adds a webhook, sees its secret once, sends a test event and sees it delivered", async ({ page }) => {
  const hook = await receiver();
  try {
    await login(page, "e2e-admin");
    await follow(page, "nav-webhooks");
    await page.getByTestId("webhook-url").fill(hook.url);
    await page.getByTestId("webhook-event-referral.created").check();
    await page.getByTestId("webhook-event-referral.lost").check();

    // A loopback address is refused unless private addresses are allowed.
    await page.getByTestId("webhook-create").click();
    await expect(page.getByTestId("webhook-url-error")).toContainText("not a public address");
    await expect(page.getByTestId("webhook-row").filter({ hasText: hook.url })).toHaveCount(0);
    await page.getByTestId("webhook-allow-private").check();
    await page.getByTestId("webhook-create").click();

    // The secret is shown once.
    const shown = page.getByTestId("webhook-secret-value");
    await expect(shown).toHaveText(/^whsec_[A-Za-z0-9_-]{43}$/);
    const secret = (await shown.textContent()) ?? "";
    const row = page.getByTestId("webhook-row").filter({ hasText: hook.url });
    await expect(row).toHaveCount(1);
    await expect(row.getByTestId("webhook-row-state")).toHaveText("启用");

    // A test event: queued, delivered, in the log with its status and the receiver's answer.
    await row.getByTestId("webhook-test").click();
    await expect(row.getByTestId("webhook-test-queued")).toContainText("evt_");
    const eventId = ((await row.getByTestId("webhook-test-queued").locator("code").textContent()) ?? "").trim();
    const delivery = row.locator(`[data-testid="delivery-row"][data-event-id="${eventId}"]`);
    await expect(delivery).toHaveAttribute("data-ok", "true");
    await expect(delivery.getByTestId("delivery-outcome")).toHaveText("HTTP 200");
    await expect(delivery.getByTestId("delivery-excerpt")).toHaveText("ok from the e2e receiver");
    await expect(delivery).toContainText("webhook.test");
    const hit = hook.hits.find((h) => h.id === eventId);
    expect(hit, "the receiver got the event").toBeTruthy();
    expect(verifies(hit!, secret)).toBe(true);
    expect(JSON.parse(hit!.body)).toMatchObject({ id: eventId, type: "webhook.test", account_id: 1 });

    // After a reload the secret is gone for good; the endpoint stays.
    await page.reload();
    await expect(page.getByTestId("webhook-secret")).toHaveCount(0);
    await expect(page.locator("body")).not.toContainText(secret);
    const again = page.getByTestId("webhook-row").filter({ hasText: hook.url });
    await expect(again).toHaveCount(1);

    // Deleting asks first.
    await again.getByTestId("webhook-delete").click();
    const dialog = page.getByTestId("confirm-dialog");
    await expect(dialog).toContainText(hook.url);
    await page.getByTestId("confirm-ok").click();
    await expect(page.getByTestId("webhook-row").filter({ hasText: hook.url })).toHaveCount(0);
  } finally {
    hook.close();
  }
});

test("managers do not see the webhooks page", async ({ page }) => {
  await login(page, "e2e-manager");
  await expect(page.getByTestId("nav-webhooks")).toHaveCount(0);
});
