import { test, expect, follow, login, unique } from "./fixtures";

test("a follow whose callback WeChat gave up on is recovered by reconciliation and credited", async ({ page }) => {
  await login(page, "e2e-manager");
  await follow(page, "nav-referrers");
  const name = unique("对账人");
  await page.getByTestId("input-name").fill(name);
  await page.getByTestId("create-referrer").click();
  await page.getByTestId("referrer-search").fill(name);
  await expect(page.getByTestId("referrer-link")).toHaveCount(1);
  await follow(page, "referrer-link");
  // An integer-scene code (QR_LIMIT_SCENE): its scene is a number.
  await page.getByTestId("input-scene-type").selectOption("integer");
  await page.getByTestId("create-code").click();
  await expect(page.getByTestId("code-card")).toHaveCount(1);
  await expect(page.getByTestId("code-card").locator("strong")).toHaveText(/^\d+$/);

  // In the sandbox a friend scans the code, but WeChat never delivers the callback.
  await follow(page, "nav-sandbox");
  const option = page.getByTestId("sim-code").locator("option", { hasText: name });
  await page.getByTestId("sim-code").selectOption({ value: (await option.getAttribute("value")) ?? "" });
  const user = unique("lost");
  await page.getByTestId("sim-user").fill(user);
  await page.getByTestId("sim-lost").check();
  await page.getByTestId("sim-scan").click();
  await expect(page.getByTestId("bubble-reply")).toContainText("回调丢失");

  await follow(page, "nav-leaderboard");
  await expect(page.getByTestId("leaderboard-row").filter({ hasText: name })).toHaveCount(0);

  // Reconciliation finds it: the run shows its progress, then the report names the referrer.
  await follow(page, "nav-reconcile");
  await expect(page.getByTestId("reconcile-schedule-save")).toHaveCount(0);
  await page.getByTestId("reconcile-start").click();
  const current = page.getByTestId("reconcile-current");
  await expect(current).toHaveAttribute("data-run-status", "done", { timeout: 20_000 });
  await expect(page.getByTestId("reconcile-progress")).toHaveAttribute("value", "100");
  await expect(page.getByTestId("reconcile-phase")).toHaveText("已完成");
  const line = page.locator(`[data-testid="reconcile-change"][data-openid="oSBX_${user}"]`);
  await expect(line).toHaveAttribute("data-change", "recovered");
  await expect(line).toContainText(name);
  await expect(page.getByTestId("reconcile-history-row").first()).toHaveAttribute("data-status", "done");
  await expect(page.getByTestId("reconcile-start")).toBeEnabled();
  await page.screenshot({ path: "test-results/reconcile.png", fullPage: true });

  await follow(page, "nav-leaderboard");
  const row = page.getByTestId("leaderboard-row").filter({ hasText: name });
  await expect(row.getByTestId("row-follows")).toHaveText("1");
});

test("staff do not see reconciliation", async ({ page }) => {
  await login(page, "e2e-staff");
  await expect(page.getByTestId("nav-reconcile")).toHaveCount(0);
});

test("admins choose the hour of the nightly reconciliation", async ({ page }) => {
  await login(page, "e2e-admin");
  await follow(page, "nav-reconcile");
  await page.getByTestId("reconcile-hour").selectOption("4");
  await page.getByTestId("reconcile-schedule-save").click();
  await expect(page.getByTestId("reconcile-schedule-saved")).toBeVisible();
  await page.reload();
  await expect(page.getByTestId("reconcile-hour")).toHaveValue("4");
});
