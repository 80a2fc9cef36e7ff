import { test, expect, follow, hydrated, login, unique } from "./fixtures";
import { readFileSync } from "node:fs";

test("the stats page downloads the funnel and the daily series as CSV", async ({ page }) => {
  await login(page);
  await page.goto("/stats?period=week");
  await hydrated(page);
  await expect(page.getByTestId("csv-stats")).toHaveAttribute("href", "/api/v1/stats.csv?period=week");
  const [funnel] = await Promise.all([
    page.waitForEvent("download"),
    page.getByTestId("csv-stats").click(),
  ]);
  const text = readFileSync((await funnel.path())!, "utf8");
  expect(text.startsWith("\ufefffrom,to,scans,unique_scanners,new_follows")).toBe(true);
  expect(text.trim().split("\r\n")).toHaveLength(2);

  // Another period: the live region refreshes the links in place.
  await page.getByTestId("period-select").selectOption("month");
  await expect(page.getByTestId("csv-daily")).toHaveAttribute("href", "/api/v1/stats/daily.csv?period=month");
  const [daily] = await Promise.all([
    page.waitForEvent("download"),
    page.getByTestId("csv-daily").click(),
  ]);
  const body = readFileSync((await daily.path())!, "utf8");
  // A BOM first (String.trim would drop it), then the header.
  expect(body.startsWith("\ufeffdate,scans,follows,unfollows,net_follows\r\n")).toBe(true);
  const rows = body.trim().split("\r\n");
  expect(rows.length).toBeGreaterThan(1);
});

test("ticked codes download as one ZIP named by referrer", async ({ page }) => {
  await login(page);
  await follow(page, "nav-referrers");
  const name = unique("打包");
  await page.getByTestId("input-name").fill(name);
  await page.getByTestId("create-referrer").click();
  await expect(page.getByTestId("created-ok")).toBeVisible();
  await page.getByTestId("referrer-search").fill(name);
  await expect(page.getByTestId("referrer-link")).toHaveCount(1);
  await follow(page, "referrer-link");
  await page.getByTestId("create-code").click();
  await expect(page.getByTestId("code-card")).toHaveCount(1);

  await follow(page, "nav-qrcodes");
  const link = page.getByTestId("zip-download");
  await expect(link).not.toHaveAttribute("href", /.*/);
  // The newest code is listed first: the one just made.
  const first = page.getByTestId("zip-check").first();
  await expect(first.locator("..")).toContainText(name);
  await first.check();
  const id = await first.getAttribute("value");
  await expect(link).toHaveAttribute("href", `/api/v1/qrcodes.zip?ids=${id}&format=png`);
  await page.getByTestId("zip-format").selectOption("svg");
  await expect(link).toHaveAttribute("href", `/api/v1/qrcodes.zip?ids=${id}&format=svg`);
  await expect(link).toContainText("(1)");
  const [zip] = await Promise.all([page.waitForEvent("download"), link.click()]);
  const bytes = readFileSync((await zip.path())!);
  expect(bytes.subarray(0, 2).toString()).toBe("PK");
  expect(bytes.includes(Buffer.from(`${name}-${id}.svg`))).toBe(true);

  // All at once, then none.
  await first.uncheck();
  await expect(link).not.toHaveAttribute("href", /.*/);
  const all = page.getByTestId("zip-select-all");
  await expect(all).toHaveText("全选");
  await all.click();
  await expect(first).toBeChecked();
  await expect(link).toHaveAttribute("href", /ids=\d+/);
  await expect(all).toHaveText("全不选");
  await all.click();
  await expect(first).not.toBeChecked();
  await expect(link).not.toHaveAttribute("href", /.*/);
});
