import { test, expect, beijing, hydrated, login, referrerWithCode, unique } from "./fixtures";

test("times are shown in Beijing time with the zone named", async ({ page }) => {
  await login(page, "e2e-manager");
  const { code } = await referrerWithCode(page, unique("时区"));
  const before = beijing(new Date());
  const res = await page.request.post("/sandbox/simulate/scan", { data: { qrcode_id: code, user: unique("tz") } });
  expect(res.ok()).toBeTruthy();
  const after = beijing(new Date(Date.now() + 2000));
  await page.reload();
  await hydrated(page);
  const table = page.getByTestId("referrals-table");
  await expect(table.locator("th").nth(1)).toContainText("北京时间");
  const shown = (await page.getByTestId("referral-row").locator("td").nth(1).textContent())?.trim();
  expect([before, after]).toContain(shown);
  await expect(table).not.toContainText("UTC");
});

test("the stats page says the exact dates of its period", async ({ page }) => {
  await login(page, "e2e-manager");
  await page.goto("/stats?period=custom&from=2026-11-15&to=2026-12-14");
  await hydrated(page);
  await expect(page.getByTestId("stats-range")).toContainText("2026-11-15 – 2026-12-14");
  await expect(page.getByTestId("stats-range")).toContainText("Asia/Shanghai");
  await page.goto("/stats?period=month");
  await hydrated(page);
  const month = beijing(new Date()).slice(0, 7);
  await expect(page.getByTestId("stats-range")).toContainText(`${month}-01 – ${month}-`);
  await page.goto("/stats?period=day");
  await hydrated(page);
  await expect(page.getByTestId("stats-range").locator("strong")).toHaveText(beijing(new Date()).slice(0, 10));
});
