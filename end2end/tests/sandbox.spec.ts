import { test, expect, follow, hydrated, login, unique } from "./fixtures";

// A refused custom period answers 422, which the browser reports on the console.
test.use({ expectedConsoleErrors: [/status of 422/] });

test("a simulated scan greets by the referrer's name and reaches the leaderboard, stats and CSV", async ({ page }) => {
  await login(page);
  await follow(page, "nav-referrers");
  const name = unique("韩梅梅");
  await page.getByTestId("input-name").fill(name);
  await page.getByTestId("create-referrer").click();
  await page.getByTestId("referrer-search").fill(name);
  await expect(page.getByTestId("referrer-link")).toHaveCount(1);
  await follow(page, "referrer-link");
  await page.getByTestId("create-code").click();
  await expect(page.getByTestId("code-card")).toHaveCount(1);

  await follow(page, "nav-sandbox");
  await expect(page.getByTestId("sim-code")).toBeVisible();
  const option = page.getByTestId("sim-code").locator("option", { hasText: name });
  await page.getByTestId("sim-code").selectOption({ value: await option.getAttribute("value") ?? "" });
  await page.getByTestId("sim-user").fill(unique("u"));
  await page.getByTestId("sim-scan").click();
  await expect(page.getByTestId("bubble-reply")).toHaveText(`欢迎关注！您是${name}推荐的客户。`);
  await page.screenshot({ path: "test-results/sandbox-chat.png", fullPage: true });

  await page.getByTestId("nav-leaderboard").click();
  const row = page.getByTestId("leaderboard-row").filter({ hasText: name });
  await expect(row).toHaveCount(1);
  await expect(row.getByTestId("row-follows")).toHaveText("1");
  // Another period: the board and its export links follow the choice without a reload.
  await hydrated(page);
  await page.getByTestId("period-select").selectOption("all");
  await expect(page).toHaveURL(/period=all/);
  await expect(page.getByTestId("csv-leaderboard")).toHaveAttribute("href", /period=all/);
  await expect(row.getByTestId("row-follows")).toHaveText("1");
  // A custom range: its dates show with the choice, and it applies once both are set.
  await expect(page.getByTestId("period-from")).toBeHidden();
  await page.getByTestId("period-select").selectOption("custom");
  await expect(page.getByTestId("period-from")).toBeVisible();
  const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);
  await page.getByTestId("period-from").fill(day(-7));
  await page.getByTestId("period-to").fill(day(1));
  await expect(page).toHaveURL(new RegExp(`period=custom&from=${day(-7)}&to=${day(1)}`));
  await expect(page.getByTestId("csv-leaderboard")).toHaveAttribute("href", /period=custom&from=/);
  await expect(row.getByTestId("row-follows")).toHaveText("1");
  await page.screenshot({ path: "test-results/leaderboard-custom.png", fullPage: true });
  // A range that ends before it starts is refused with the reason, in place.
  await page.getByTestId("period-to").fill(day(-30));
  await expect(page.getByRole("alert")).toContainText("结束日期不能早于开始日期");
  await expect(page.getByTestId("leaderboard-row")).toHaveCount(0);
  await page.getByTestId("period-select").selectOption("all");
  await expect(row.getByTestId("row-follows")).toHaveText("1");
  await expect(page.getByTestId("period-from")).toBeHidden();
  await page.screenshot({ path: "test-results/leaderboard.png", fullPage: true });

  const [csv] = await Promise.all([
    page.waitForEvent("download"),
    page.getByTestId("csv-referrals").click(),
  ]);
  const fs = await import("node:fs");
  const text = fs.readFileSync((await csv.path())!, "utf8");
  expect(text).toContain(name);

  const [board] = await Promise.all([
    page.waitForEvent("download"),
    page.getByTestId("csv-leaderboard").click(),
  ]);
  const boardText = fs.readFileSync((await board.path())!, "utf8");
  expect(boardText).toContain(`,${name},`);

  await page.getByTestId("nav-stats").click();
  await expect(page.getByTestId("funnel-follows")).not.toHaveText("0");
  await expect(page.getByTestId("daily-chart")).toBeVisible();
  await page.screenshot({ path: "test-results/stats.png", fullPage: true });
});
