import { test, expect, follow, hydrated, login, unique } from "./fixtures";

test("overview hydrates and the language switch changes the page", async ({ page, context }) => {
  await login(page);
  await expect(page.getByTestId("nav-referrers")).toHaveText("推荐人");
  // Status comes from a server function: sandbox mode and a healthy database.
  await expect(page.getByTestId("mode-badge")).toContainText("沙盒模式");
  await expect(page.getByTestId("status-db")).toContainText("正常");

  await page.getByTestId("lang-toggle").click();
  await expect(page.getByTestId("nav-referrers")).toHaveText("Referrers");
  await expect(page.getByTestId("status-db")).toContainText("OK");

  // The choice is remembered: the server renders English after a reload.
  const cookies = await context.cookies();
  expect(cookies.find((c) => c.name === "lang")?.value).toBe("en");
  await page.reload();
  await expect(page.getByTestId("nav-referrers")).toHaveText("Referrers");
  await hydrated(page);
  // The hydrated parts (islands) read the same choice: what they render in the browser is in
  // English too.
  await follow(page, "nav-referrers");
  await page.getByTestId("input-name").fill(unique("Lang"));
  await page.getByTestId("create-referrer").click();
  await expect(page.getByTestId("created-ok")).toContainText("Created:");
  await page.getByTestId("lang-toggle").click();
  await expect(page.getByTestId("nav-referrers")).toHaveText("推荐人");
  await page.screenshot({ path: "test-results/shell-overview.png", fullPage: true });
});

test("navigation reaches every section", async ({ page }) => {
  await login(page);
  const sections = [
    ["nav-referrers", "/referrers", "new-referrer-form"],
    ["nav-qrcodes", "/qrcodes", "quota"],
    ["nav-leaderboard", "/leaderboard", "metric-select"],
    ["nav-stats", "/stats", "period-select"],
    ["nav-settings", "/settings", "wechat-info"],
    ["nav-sandbox", "/sandbox", "sim-chat"],
  ];
  for (const [nav, path, marker] of sections) {
    await page.getByTestId(nav).click();
    await expect(page).toHaveURL(new RegExp(`${path}$`));
    await expect(page.getByTestId(marker)).toBeVisible();
    await expect(page.getByTestId(nav)).toHaveAttribute("aria-current", "page");
  }
});

test("a phone-sized screen gets a menu button", async ({ page }) => {
  await page.setViewportSize({ width: 375, height: 740 });
  await login(page);
  await expect(page.getByTestId("nav-stats")).toBeHidden();
  await page.getByRole("button", { name: "菜单" }).click();
  await expect(page.getByTestId("nav-stats")).toBeVisible();
  await page.getByTestId("nav-stats").click();
  await expect(page.getByTestId("period-select")).toBeVisible();
  await page.screenshot({ path: "test-results/shell-phone.png", fullPage: true });
});

test.describe("unknown paths", () => {
  // The browser reports the document's own 404 on the console; that one is expected.
  test.use({ expectedConsoleErrors: [/status of 404/] });

  test("answer 404 with a way back", async ({ page }) => {
    await login(page);
    const response = await page.goto("/no-such-page");
    expect(response?.status()).toBe(404);
    await expect(page.getByText("页面不存在")).toBeVisible();
    await hydrated(page);
    await page.getByRole("link", { name: "返回概览" }).click();
    await expect(page.getByTestId("status-card")).toBeVisible();
  });
});
