import { test, expect, follow, login, unique } from "./fixtures";

// A refused tag name answers 422, which the browser reports on the console.
test.use({ expectedConsoleErrors: [/status of 422/] });

test("a follower who comes through a tagged referrer's code is tagged in WeChat, and the referrer's page says so", async ({ page }) => {
  await login(page);
  await follow(page, "nav-referrers");
  const name = unique("标签");
  const tag = unique("渠道");
  await page.getByTestId("input-name").fill(name);
  await page.getByTestId("input-wechat_tag").fill(tag);
  await page.getByTestId("create-referrer").click();
  await page.getByTestId("referrer-search").fill(name);
  await expect(page.getByTestId("referrer-link")).toHaveCount(1);
  await follow(page, "referrer-link");
  await expect(page.getByTestId("input-wechat_tag")).toHaveValue(tag);
  // A code with its own tag, and one that takes the referrer's.
  const poster = unique("海报");
  await page.getByTestId("input-code-wechat_tag").fill(poster);
  await page.getByTestId("create-code").click();
  await expect(page.getByTestId("code-card")).toHaveCount(1);
  await expect(page.getByTestId("code-wechat-tag")).toContainText(poster);
  await page.getByTestId("create-code").click();
  await expect(page.getByTestId("code-card")).toHaveCount(2);
  const referrerPage = new URL(page.url()).pathname;

  await follow(page, "nav-sandbox");
  const options = page.getByTestId("sim-code").locator("option", { hasText: name });
  await expect(options).toHaveCount(2);
  // The newest code first: the one without a tag of its own.
  const plain = (await options.nth(0).getAttribute("value")) ?? "";
  const tagged = (await options.nth(1).getAttribute("value")) ?? "";
  const first = unique("u");
  await page.getByTestId("sim-user").fill(first);
  await page.getByTestId("sim-code").selectOption({ value: plain });
  await page.getByTestId("sim-scan").click();
  await expect(page.getByTestId("bubble-reply")).toHaveText(`欢迎关注！您是${name}推荐的客户。`);
  // The tag arrives after the reply (an outbox job); the panel reads the user's tags again.
  await expect(page.getByTestId("sim-tag")).toHaveText([tag], { timeout: 15_000 });
  const second = unique("v");
  await page.getByTestId("sim-user").fill(second);
  await expect(page.getByTestId("sim-tags-none")).toBeVisible();
  await page.getByTestId("sim-code").selectOption({ value: tagged });
  await page.getByTestId("sim-scan").click();
  await expect(page.getByTestId("sim-tag")).toHaveText([poster], { timeout: 15_000 });
  await page.screenshot({ path: "test-results/sandbox-tags.png", fullPage: true });

  await page.goto(referrerPage);
  const rows = page.getByTestId("referral-wechat-tag");
  await expect(rows).toHaveCount(2);
  await expect(rows.filter({ hasText: tag })).toHaveAttribute("data-state", "done");
  await expect(rows.filter({ hasText: poster })).toHaveAttribute("data-state", "done");
  const counts = page.getByTestId("wechat-tag-count");
  await expect(counts).toHaveCount(2);
  await expect(counts.filter({ hasText: tag })).toContainText("1");
  await expect(counts.first()).toHaveAttribute("data-state", "done");
  await page.screenshot({ path: "test-results/referrer-tags.png", fullPage: true });
});

test("a WeChat tag longer than WeChat allows is refused next to the field", async ({ page }) => {
  await login(page);
  await follow(page, "nav-referrers");
  const name = unique("长标签");
  await page.getByTestId("input-name").fill(name);
  await page.getByTestId("input-wechat_tag").fill("标".repeat(31));
  await page.getByTestId("create-referrer").click();
  await expect(page.getByTestId("error-wechat_tag")).toContainText("30");
  await page.getByTestId("referrer-search").fill(name);
  await expect(page.getByTestId("referrers-empty")).toBeVisible();
  await expect(page.getByTestId("referrer-link")).toHaveCount(0);
});
