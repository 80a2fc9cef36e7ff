import { test, expect, follow, hydrated, login } from "./fixtures";

test("an admin reads what to enter in WeChat, and a refused IP shows with its fix", async ({ page }) => {
  await login(page);
  await follow(page, "nav-setup");
  await expect(page.getByTestId("setup-callback-url")).toHaveText(/^http:\/\/127\.0\.0\.1:\d+\/wechat\/callback$/);
  // The sandbox issues tokens: that check passes; without PUBLIC_URL links stay on this machine.
  await expect(page.getByTestId("check-access_token")).toHaveAttribute("data-state", "ok");
  await expect(page.getByTestId("check-public_url")).toHaveAttribute("data-state", "warn");
  await expect(page.getByTestId("check-public_url").getByTestId("check-fix")).toContainText("PUBLIC_URL");

  // WeChat refuses the server's address (not on the IP allowlist).
  const planted = await page.request.post("/sandbox/faults", {
    data: { faults: [{ endpoint: "stable_token", errcode: 40164, count: 3 }] },
  });
  expect(planted.ok()).toBeTruthy();
  try {
    await page.getByTestId("setup-recheck").click();
    const token = page.getByTestId("check-access_token");
    await expect(token).toHaveAttribute("data-state", "fail");
    await expect(token).toContainText("errcode 40164");
    await expect(token.getByTestId("check-fix")).toContainText("IP白名单");
    await expect(token.getByTestId("check-fix")).toContainText("127.0.0.1");
    await expect(page.getByTestId("setup-ip")).toContainText("127.0.0.1");
    await expect(page.getByTestId("setup-summary")).toContainText("未通过");
    // The same advice in English.
    await hydrated(page);
    await page.getByTestId("lang-toggle").click();
    await expect(token.getByTestId("check-fix")).toContainText("allowlist");
    await page.getByTestId("lang-toggle").click();
  } finally {
    await page.request.delete("/sandbox/faults");
  }
});

test("the setup page is not offered to a manager", async ({ page }) => {
  await login(page, "e2e-manager");
  await expect(page.getByTestId("nav-stats")).toBeVisible();
  await expect(page.getByTestId("nav-setup")).toHaveCount(0);
});
