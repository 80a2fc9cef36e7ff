import { test, expect, follow, login, unique } from "./fixtures";

test("a greeting template previews live, saves, and greets the next follower", async ({ page }) => {
  await login(page);
  await follow(page, "nav-settings");
  const editor = page.getByTestId("greeting-referred");
  await expect(editor.getByTestId("greeting-preview")).toHaveText("欢迎关注！您是张三推荐的客户。");
  await editor.getByTestId("greeting-input").fill("{follower}您好！{referrer}邀请您来的。");
  // The preview follows the typing, before anything is saved.
  await expect(editor.getByTestId("greeting-preview")).toHaveText("朋友您好！张三邀请您来的。");
  await editor.getByTestId("greeting-save").click();
  await expect(page.getByTestId("audit-log")).toContainText("greeting.save");
  await page.screenshot({ path: "test-results/settings.png", fullPage: true });

  // The next referred follower gets the new text.
  await follow(page, "nav-referrers");
  const name = unique("王芳");
  await page.getByTestId("input-name").fill(name);
  await page.getByTestId("create-referrer").click();
  await page.getByTestId("referrer-search").fill(name);
  await expect(page.getByTestId("referrer-link")).toHaveCount(1);
  await follow(page, "referrer-link");
  await page.getByTestId("create-code").click();
  await expect(page.getByTestId("code-card")).toHaveCount(1);
  await follow(page, "nav-sandbox");
  const option = page.getByTestId("sim-code").locator("option", { hasText: name });
  await page.getByTestId("sim-code").selectOption({ value: (await option.getAttribute("value")) ?? "" });
  await page.getByTestId("sim-user").fill(unique("g"));
  await page.getByTestId("sim-scan").click();
  await expect(page.getByTestId("bubble-reply")).toHaveText(`朋友您好！${name}邀请您来的。`);

  // Restore the default for the other specs.
  await follow(page, "nav-settings");
  await page.getByTestId("greeting-referred").getByTestId("greeting-reset").click();
  await expect(page.getByTestId("greeting-referred").getByTestId("greeting-input")).toHaveValue(
    "欢迎关注！您是{referrer}推荐的客户。",
  );
});

test("an API token is shown once and secrets are never shown", async ({ page }) => {
  await login(page);
  await follow(page, "nav-settings");
  await expect(page.getByTestId("wechat-info")).toContainText("AppSecret");
  await page.getByTestId("token-name").fill(unique("ci-"));
  await page.getByTestId("token-mint").click();
  await expect(page.getByTestId("token-value")).toContainText("tj_");
});

test("a token minted for 30 days is listed with its expiry and revoked after a confirmation", async ({ page }) => {
  await login(page);
  await follow(page, "nav-settings");
  const name = unique("bot-");
  await page.getByTestId("token-name").fill(name);
  await page.getByTestId("token-days").selectOption("30");
  await page.getByTestId("token-mint").click();
  await expect(page.getByTestId("token-value")).toContainText("tj_");
  const row = page.locator(`[data-testid="token-row"][data-name="${name}"]`);
  await expect(row).toHaveAttribute("data-state", "active");
  // Beijing time, as every time on the dashboard.
  await expect(row.locator("td").nth(4)).toHaveText(/^\d{4}-\d\d-\d\d \d\d:\d\d$/);
  await row.getByTestId("token-revoke").click();
  const dialog = page.getByTestId("confirm-dialog");
  await expect(dialog).toContainText(name);
  await page.getByTestId("confirm-ok").click();
  await expect(dialog).toBeHidden();
  await expect(row).toHaveAttribute("data-state", "revoked");
  await expect(row.getByTestId("token-revoke")).toHaveCount(0);
  await page.reload();
  await expect(page.locator(`[data-testid="token-row"][data-name="${name}"]`)).toHaveAttribute("data-state", "revoked");
});
