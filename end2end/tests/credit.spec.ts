import type { Page } from "@playwright/test";
import { test, expect, follow, login, unique } from "./fixtures";

// A move without a reason is refused (422), which the browser reports on the console.
test.use({ expectedConsoleErrors: [/status of 422/] });

async function referrer(page: Page, name: string) {
  await follow(page, "nav-referrers");
  await page.getByTestId("input-name").fill(name);
  await page.getByTestId("create-referrer").click();
  await page.getByTestId("referrer-search").fill(name);
  await expect(page.getByTestId("referrer-link")).toHaveCount(1);
  await follow(page, "referrer-link");
}

test("an admin moves a follower's credit and both referrers' pages show it", async ({ page }) => {
  await login(page, "e2e-admin");
  const to = unique("转入人");
  await referrer(page, to);
  const from = unique("转出人");
  await referrer(page, from);
  const fromUrl = page.url();
  await page.getByTestId("create-code").click();
  await expect(page.getByTestId("code-card")).toHaveCount(1);
  const png = await page.getByTestId("download-png").getAttribute("href");
  const codeId = Number(png?.match(/qrcodes\/(\d+)\//)?.[1]);
  const user = unique("credit");
  const scanned = await page.request.post("/sandbox/simulate/scan", { data: { qrcode_id: codeId, user } });
  expect(scanned.ok()).toBeTruthy();
  await page.reload();
  await expect(page.getByTestId("credit-moves-empty")).toBeVisible();

  const form = page.getByTestId("move-credit-form");
  await form.getByTestId("move-referral").selectOption({ label: `oSBX_${user}` });
  const target = form.getByTestId("move-target").locator("option", { hasText: to });
  await form.getByTestId("move-target").selectOption({ value: (await target.getAttribute("value")) ?? "" });
  // A reason is required.
  await form.getByTestId("move-credit").click();
  await page.getByTestId("confirm-ok").click();
  await expect(page.getByTestId("error-reason")).toBeVisible();
  await page.getByTestId("input-reason").fill("实为转入人介绍");
  await form.getByTestId("move-credit").click();
  await expect(page.getByTestId("confirm-dialog")).toContainText(to);
  await page.getByTestId("confirm-ok").click();
  const out = page.locator('[data-testid="credit-move"][data-direction="out"]');
  await expect(out).toContainText("实为转入人介绍");
  await expect(out).toContainText(to);
  await expect(page.getByTestId("referrals-empty")).toBeVisible();

  await out.getByRole("link", { name: to }).click();
  await expect(page.locator('[data-testid="credit-move"][data-direction="in"]')).toContainText(from);
  await expect(page.getByTestId("referrals-table")).toContainText(`oSBX_${user}`);
  expect(page.url()).not.toBe(fromUrl);
});

test("staff see the history but cannot move credit", async ({ page }) => {
  await login(page, "e2e-staff");
  await follow(page, "nav-referrers");
  await follow(page, "referrer-link");
  await expect(page.getByTestId("move-credit-form")).toHaveCount(0);
});
