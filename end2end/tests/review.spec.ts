import type { Page } from "@playwright/test";
import { test, expect, follow, hydrated, login, referrerWithCode, unique } from "./fixtures";

// A decision without a reason is refused (422); staff are refused the queue (403).
test.use({ expectedConsoleErrors: [/status of (403|422)/] });

async function simulate(page: Page, what: "scan" | "unfollow", data: object) {
  const res = await page.request.post(`/sandbox/simulate/${what}`, { data });
  expect(res.ok()).toBeTruthy();
}

test("a manager voids a flagged referral and restores it; the referrer's figures follow", async ({ page }) => {
  await login(page, "e2e-manager");
  const name = unique("刷关注");
  const { url, code } = await referrerWithCode(page, name);
  const user = unique("quick");
  await simulate(page, "scan", { qrcode_id: code, user });
  await simulate(page, "unfollow", { user });

  await follow(page, "nav-review");
  const row = page.getByTestId("review-row").filter({ hasText: `oSBX_${user}` });
  await expect(row).toHaveCount(1);
  await expect(row.getByTestId("review-flag")).toHaveAttribute("data-kind", "quick_unfollow");
  await expect(row).toContainText(name);

  // Void needs a reason, asked for in the confirmation.
  await row.getByTestId("review-void").click();
  const dialog = page.getByTestId("confirm-dialog");
  await expect(dialog).toBeVisible();
  await dialog.getByTestId("confirm-ok").click();
  await expect(dialog.getByTestId("error-reason")).toBeVisible();
  await dialog.getByTestId("input-reason").fill("关注后立刻取关，疑似刷量");
  await dialog.getByTestId("confirm-ok").click();
  await hydrated(page);
  await expect(page.getByTestId("review-row").filter({ hasText: `oSBX_${user}` })).toHaveCount(0);

  // The voided list has it, with who and why.
  await page.getByTestId("review-status").selectOption("voided");
  await page.getByTestId("review-apply").click();
  await page.waitForURL(/status=voided/);
  await hydrated(page);
  const voided = page.getByTestId("review-row").filter({ hasText: `oSBX_${user}` });
  await expect(voided).toHaveAttribute("data-state", "voided");
  await expect(voided.getByTestId("review-decided")).toContainText("关注后立刻取关，疑似刷量");

  // The referrer's page: the referral is marked and counted nowhere.
  await page.goto(url);
  await hydrated(page);
  await expect(page.getByTestId("referral-voided")).toHaveCount(1);
  await expect(page.getByTestId("stat-follows")).toHaveText("0");

  // Restore from the queue.
  await page.goto("/review?status=voided");
  await hydrated(page);
  await voided.getByTestId("review-restore").click();
  await dialog.getByTestId("input-reason").fill("电话核实为真实客户");
  await dialog.getByTestId("confirm-ok").click();
  await hydrated(page);
  await expect(page.getByTestId("review-row").filter({ hasText: `oSBX_${user}` })).toHaveCount(0);
  await page.goto(url);
  await hydrated(page);
  await expect(page.getByTestId("referral-voided")).toHaveCount(0);
  await expect(page.getByTestId("referral-row")).toHaveCount(1);
  await expect(page.getByTestId("stat-follows")).toHaveText("1");
});

test("a manager removes a follower's credit on the referrer's page and restores it", async ({ page }) => {
  await login(page, "e2e-manager");
  const { code } = await referrerWithCode(page, unique("员工"));
  const user = unique("own");
  await simulate(page, "scan", { qrcode_id: code, user });
  await page.reload();
  await hydrated(page);
  const form = page.getByTestId("void-credit-form");
  await form.getByTestId("void-referral").selectOption({ label: `oSBX_${user}` });
  await form.getByTestId("void-credit").click();
  await page.getByTestId("confirm-ok").click();
  await expect(form.getByTestId("error-void_reason")).toBeVisible();
  await form.getByTestId("input-void_reason").fill("员工本人扫码，不计推荐");
  await form.getByTestId("void-credit").click();
  await expect(page.getByTestId("confirm-dialog")).toContainText("不再计入");
  await page.getByTestId("confirm-ok").click();
  await hydrated(page);
  await expect(page.getByTestId("referral-voided")).toHaveCount(1);
  await expect(page.getByTestId("referral-void-reason")).toHaveText("员工本人扫码，不计推荐");
  // The same form now restores it.
  await expect(form.getByTestId("void-credit")).toContainText("恢复");
  await form.getByTestId("input-void_reason").fill("误操作");
  await form.getByTestId("void-credit").click();
  await page.getByTestId("confirm-ok").click();
  await hydrated(page);
  await expect(page.getByTestId("referral-voided")).toHaveCount(0);
});

test("admins set the thresholds", async ({ page }) => {
  await login(page, "e2e-admin");
  await follow(page, "nav-review");
  const form = page.getByTestId("thresholds-form");
  await form.getByTestId("input-burst_minutes").fill("0");
  await form.getByTestId("thresholds-save").click();
  await expect(form.getByTestId("error-burst_minutes")).toBeVisible();
  await form.getByTestId("input-burst_minutes").fill("15");
  await form.getByTestId("thresholds-save").click();
  await expect(form.getByTestId("thresholds-saved")).toBeVisible();
  await page.reload();
  await hydrated(page);
  await expect(page.getByTestId("input-burst_minutes")).toHaveValue("15");
});

test("staff have no review page", async ({ page }) => {
  await login(page, "e2e-staff");
  await expect(page.getByTestId("nav-review")).toHaveCount(0);
  await page.goto("/review");
  await expect(page.getByTestId("review-error")).toBeVisible();
});
