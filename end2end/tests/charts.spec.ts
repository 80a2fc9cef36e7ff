import type { Page } from "@playwright/test";
import { test, expect, beijing, hydrated, login, referrerWithCode, unique } from "./fixtures";

/** Today in Beijing, `YYYY-MM-DD`. */
function today(): string {
  return beijing(new Date()).slice(0, 10);
}

/** A referrer with two follows today, one of whom left again: its page's address and name. */
async function busyReferrer(page: Page): Promise<{ url: string; name: string }> {
  const name = unique("趋势");
  const { url, code } = await referrerWithCode(page, name);
  const [a, b] = [unique("c1"), unique("c2")];
  for (const user of [a, b]) {
    expect((await page.request.post("/sandbox/simulate/scan", { data: { qrcode_id: code, user } })).ok()).toBeTruthy();
  }
  expect((await page.request.post("/sandbox/simulate/unfollow", { data: { user: b } })).ok()).toBeTruthy();
  return { url, name };
}

test("the daily chart has axes, a legend with toggles, and each day's values on hover and focus", async ({ page }) => {
  await login(page, "e2e-manager");
  const { url } = await busyReferrer(page);
  await page.reload();
  await hydrated(page);
  const chart = page.getByTestId("daily-chart");
  await expect(chart.locator("text.date").first()).toBeVisible();
  await expect(chart.locator("g.tick text")).not.toHaveCount(0);
  const day = chart.locator(`[data-testid="chart-day"][data-date="${today()}"]`);
  await expect(day).toHaveAttribute("aria-label", /新关注 2 · 取关 1 · 净增 1/);
  // Hover shows the day's values in the chart; so does keyboard focus.
  await expect(day.locator(".tip")).toBeHidden();
  await day.hover();
  await expect(day.locator(".tip")).toBeVisible();
  await page.mouse.move(0, 0);
  await day.focus();
  await expect(day.locator(".tip")).toBeVisible();
  await expect(day.locator(".tip text")).toContainText("新关注 2");
  // Each series can be hidden and shown again.
  for (const series of ["scans", "follows", "unfollows", "net"]) {
    await expect(chart.locator(`.series.${series}`)).toBeVisible();
    await chart.getByTestId(`chart-toggle-${series}`).uncheck();
    await expect(chart.locator(`.series.${series}`)).toBeHidden();
    await chart.getByTestId(`chart-toggle-${series}`).check();
    await expect(chart.locator(`.series.${series}`)).toBeVisible();
  }
  // The numbers as a table.
  await chart.locator("summary").click();
  await expect(chart.getByTestId("chart-table").locator("tr", { hasText: today() })).toContainText("2");
  expect(url).toMatch(/\/referrers\/\d+/);
});

test("the chart stays readable without the WASM bundle, and when empty", async ({ page, browser }) => {
  await login(page, "e2e-manager");
  const { url } = await busyReferrer(page);
  const plain = await browser.newContext({ storageState: await page.context().storageState(), javaScriptEnabled: false });
  const noScript = await plain.newPage();
  await noScript.goto(url);
  const chart = noScript.getByTestId("daily-chart");
  await expect(chart.locator(`[data-testid="chart-day"][data-date="${today()}"]`)).toHaveAttribute("aria-label", /新关注 2/);
  await chart.getByTestId("chart-toggle-scans").uncheck();
  await expect(chart.locator(".series.scans")).toBeHidden();
  await plain.close();

  // One empty day: still axes and a point, and a note that there is no data.
  await page.goto("/stats?period=custom&from=2020-01-01&to=2020-01-01");
  await hydrated(page);
  const empty = page.getByTestId("daily-chart");
  await expect(empty.getByTestId("chart-day")).toHaveCount(1);
  await expect(empty.getByTestId("chart-empty")).toBeVisible();
  await expect(empty.locator("text.date")).toHaveText("01-01");
});

test("leaderboard rows show the last 14 days as a trend", async ({ page }) => {
  await login(page, "e2e-manager");
  const { name } = await busyReferrer(page);
  await page.goto("/leaderboard?period=day");
  await hydrated(page);
  const row = page.getByTestId("leaderboard-table").locator("tr", { hasText: name });
  const trend = row.getByTestId("trend");
  await expect(trend).toBeVisible();
  const label = (await trend.getAttribute("aria-label")) ?? "";
  const values = label.split("：")[1].split(", ").map(Number);
  expect(values).toHaveLength(14);
  expect(values[13]).toBe(2);
});
