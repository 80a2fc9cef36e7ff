import { test, expect, follow, hydrated, login, unique } from "./fixtures";

// A refused mapping answers 422, which the browser reports on the console.
test.use({ expectedConsoleErrors: [/status of 422/] });

test("an admin maps the template's keys with a preview, and a referrer's page lists the notices", async ({ page }) => {
  test.slow();
  await login(page);
  await follow(page, "nav-settings");
  const editor = page.getByTestId("notify-settings");
  // The old keyword1..3 mapping until one is saved.
  await expect(editor.getByTestId("notify-field")).toHaveCount(3);
  await expect(editor.getByTestId("notify-field-key").first()).toHaveValue("keyword1");

  await editor.getByTestId("notify-template").fill("TPL_E2E_NEW_FOLLOWER");
  // Rework the keys: thing1 gets the referrer's name, the preview shows the sample.
  await editor.getByTestId("notify-field-key").nth(0).fill("thing1");
  await editor.getByTestId("notify-field-key").nth(0).blur();
  await editor.getByTestId("notify-field-source").nth(0).selectOption("referrer");
  await expect(editor.getByTestId("notify-field-preview").nth(0)).toHaveText("张三");
  // Typing a key and tabbing on keeps the keyboard in the row (nothing is redrawn).
  await editor.getByTestId("notify-field-key").nth(1).fill("time2");
  await editor.getByTestId("notify-field-key").nth(1).press("Tab");
  await expect(editor.getByTestId("notify-field-source").nth(1)).toBeFocused();
  await expect(editor.getByTestId("notify-field-preview").nth(1)).toHaveText(/^\d{4}-\d\d-\d\d \d\d:\d\d$/);
  await expect(editor.getByTestId("notify-field-key").nth(1)).toHaveAttribute("aria-label", "第 2 个字段名");
  // A number key cannot take a name: refused with the row's message, nothing saved.
  await editor.getByTestId("notify-field-key").nth(2).fill("number3");
  await editor.getByTestId("notify-field-key").nth(2).blur();
  await editor.getByTestId("notify-field-source").nth(2).selectOption("referrer");
  await editor.getByTestId("notify-save").click();
  await expect(editor.getByTestId("notify-field-error")).toHaveCount(1);
  await expect(editor.getByTestId("notify-field").nth(2)).toHaveClass(/invalid/);
  await editor.getByTestId("notify-field-source").nth(2).selectOption("total");
  await expect(editor.getByTestId("notify-field-preview").nth(2)).toHaveText("12");
  await editor.getByTestId("notify-field-add").click();
  await expect(editor.getByTestId("notify-field")).toHaveCount(4);
  await editor.getByTestId("notify-field-remove").nth(3).click();
  await expect(editor.getByTestId("notify-field")).toHaveCount(3);
  await editor.getByTestId("notify-save").click();
  // Saved: the page loads again with the mapping.
  await expect(page.getByTestId("notify-settings").getByTestId("notify-field-key").nth(0)).toHaveValue("thing1");
  await hydrated(page);
  await expect(page.getByTestId("notify-template")).toHaveValue("TPL_E2E_NEW_FOLLOWER");

  // A referrer bound to a WeChat user who just talked to the account: told at once.
  const who = unique("ref");
  const followed = await page.request.post("/sandbox/simulate/follow", { data: { user: who } });
  expect(followed.ok()).toBeTruthy();
  const openid = (await followed.json()).openid as string;
  await follow(page, "nav-referrers");
  const name = unique("通知人");
  await page.getByTestId("input-name").fill(name);
  await page.getByTestId("input-openid").fill(openid);
  await page.getByTestId("create-referrer").click();
  await page.getByTestId("referrer-search").fill(name);
  await expect(page.getByTestId("referrer-link")).toHaveCount(1);
  await follow(page, "referrer-link");
  await expect(page.getByTestId("notices-empty")).toBeVisible();
  await page.getByTestId("create-code").click();
  await expect(page.getByTestId("code-card")).toHaveCount(1);
  const codes = await (await page.request.post("/sfn/sandbox/codes")).json();
  const code = (codes as { id: number; referrer_name: string }[]).find((c) => c.referrer_name === name);
  expect(code).toBeTruthy();
  const scanned = await page.request.post("/sandbox/simulate/scan", {
    data: { qrcode_id: code!.id, user: unique("friend") },
  });
  expect(scanned.ok()).toBeTruthy();
  await expect(async () => {
    await page.reload();
    await expect(page.getByTestId("notice-row")).toHaveCount(1, { timeout: 1000 });
  }).toPass({ timeout: 15_000 });
  const row = page.getByTestId("notice-row").first();
  await expect(row).toHaveAttribute("data-status", "sent");
  await expect(row).toHaveAttribute("data-channel", "custom");
  await expect(row).toContainText("已送达");

  // Back to customer-service messages only, for the other tests.
  await follow(page, "nav-settings");
  await page.getByTestId("notify-template").fill("");
  await page.getByTestId("notify-save").click();
  await expect(page.getByTestId("notify-template")).toHaveValue("");
});
