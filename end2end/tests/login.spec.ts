import { test, expect, hydrated, login, PASSWORD } from "./fixtures";

// Refused logins, roles and invalid input answer 4xx, which the browser reports on the console.
test.use({ expectedConsoleErrors: [/status of 4\d\d/] });

test("signing in, a refused role, and signing out", async ({ page }) => {
  await page.goto("/referrers");
  await expect(page).toHaveURL(/\/login$/);
  await hydrated(page);
  await page.getByTestId("input-username").fill("e2e-staff");
  await page.getByTestId("input-password").fill("not-the-password");
  await page.getByTestId("login-submit").click();
  await expect(page.getByTestId("error-banner")).toContainText("用户名或密码错误");

  await page.getByTestId("input-password").fill(PASSWORD);
  await page.getByTestId("login-submit").click();
  await expect(page.getByTestId("user-name")).toContainText("e2e-staff");
  // Staff see referrers and QR codes, not the leaderboard, stats or settings.
  await expect(page.getByTestId("nav-referrers")).toBeVisible();
  await expect(page.getByTestId("nav-leaderboard")).toHaveCount(0);
  await page.goto("/leaderboard");
  await expect(page.getByRole("alert")).toContainText("无权");
  await page.screenshot({ path: "test-results/login-refused-role.png", fullPage: true });

  await hydrated(page);
  await page.getByTestId("logout").click();
  await expect(page).toHaveURL(/\/login$/);
  await page.goto("/");
  await expect(page).toHaveURL(/\/login$/);
});

test("a manager sees the leaderboard", async ({ page }) => {
  await login(page, "e2e-manager");
  await page.getByTestId("nav-leaderboard").click();
  await expect(page.getByTestId("metric-select")).toBeVisible();
  await expect(page.getByTestId("nav-settings")).toHaveCount(0);
});
