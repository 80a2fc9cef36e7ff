import { test, expect, follow, login, hydrated, unique } from "./fixtures";

// A link to nobody's page answers 404, which the browser reports on the console.
test.use({ expectedConsoleErrors: [/status of 404/] });

test("a follower asks for a personal code, names themselves on their page, and a friend is credited", async ({ page, browser }) => {
  await login(page, "e2e-staff");
  await follow(page, "nav-sandbox");
  const member = unique("m");
  await page.getByTestId("sim-user").fill(member);
  await page.getByTestId("sim-follow").click();
  await expect(page.getByTestId("bubble-reply")).toHaveCount(1);
  await page.getByTestId("sim-text").fill("推广码");
  await page.getByTestId("sim-send").click();
  // The passive reply is the QR image; the link to the personal page follows as a message.
  await expect(page.getByTestId("bubble-image")).toBeVisible();
  const linkMessage = page.getByTestId("inbox-message").filter({ hasText: "/m/" });
  await expect(linkMessage).toHaveCount(1, { timeout: 15_000 });
  const text = (await linkMessage.textContent()) ?? "";
  const link = new URL(text.match(/https?:\/\/\S+\/m\/[A-Za-z0-9_-]+/)![0]);
  await page.screenshot({ path: "test-results/member-sandbox.png", fullPage: true });

  // The personal page: no staff login, phone-sized.
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 } });
  const mine = await phone.newPage();
  await mine.goto(link.pathname);
  await hydrated(mine);
  await expect(mine.getByTestId("member-title")).toHaveText("我的推广码");
  await expect(mine.getByTestId("member-qr").locator("svg")).toBeVisible();
  await expect(mine.getByTestId("member-total")).toHaveText("0");
  await expect(mine.getByTestId("member-empty")).toBeVisible();
  const name = unique("小美");
  await mine.getByTestId("input-name").fill(`<b>${name}</b>`);
  await mine.getByTestId("member-save").click();
  await expect(mine.getByTestId("member-saved")).toBeVisible();
  await expect(mine.getByTestId("member-title")).toHaveText(`${name} 的推广码`);

  // A friend scans the member's code and is greeted with the chosen name.
  await page.reload();
  await hydrated(page);
  const option = page.getByTestId("sim-code").locator("option", { hasText: name });
  await page.getByTestId("sim-code").selectOption({ value: await option.getAttribute("value") ?? "" });
  await page.getByTestId("sim-user").fill(unique("friend"));
  await page.getByTestId("sim-scan").click();
  await expect(page.getByTestId("bubble-reply").last()).toHaveText(`欢迎关注！您是${name}推荐的客户。`);

  await mine.reload();
  await hydrated(mine);
  await expect(mine.getByTestId("member-total")).toHaveText("1");
  await expect(mine.getByTestId("member-latest").locator("li")).toHaveCount(1);
  await mine.screenshot({ path: "test-results/member-page.png", fullPage: true });

  // Another key shows nothing of anyone.
  await mine.goto("/m/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
  await expect(mine.getByTestId("member-not-found")).toBeVisible();
  await phone.close();
});
