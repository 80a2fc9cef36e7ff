import { test, expect, follow, login, unique } from "./fixtures";

// The menu WeChat would refuse is answered 422, which the browser reports on the console.
test.use({ expectedConsoleErrors: [/status of 422/] });

test("an admin publishes the ready menu items and a follower's click yields their code", async ({ page }) => {
  await login(page, "e2e-admin");
  await follow(page, "nav-menu");
  await expect(page.getByTestId("menu-empty")).toBeVisible();
  await expect(page.getByTestId("menu-draft-empty")).toBeVisible();

  // The ready items, then a button WeChat would refuse (no name): refused field by field,
  // nothing published.
  await page.getByTestId("menu-add-code").click();
  await page.getByTestId("menu-add-page").click();
  await expect(page.getByTestId("menu-add-code")).toBeDisabled();
  const preview = page.getByTestId("menu-preview").getByTestId("wx-menu-item");
  await expect(preview).toHaveText(["我的推广码", "我的推广页"]);
  await page.getByTestId("menu-add").click();
  await expect(page.getByTestId("menu-count")).toHaveText("3/3");
  await page.getByTestId("menu-button-2").getByTestId("menu-name").fill("六个汉字名称");
  await expect(page.getByTestId("menu-button-2").getByTestId("menu-name-bytes")).toContainText("18/16");
  await page.getByTestId("menu-publish").click();
  await expect(page.getByTestId("error-buttons[2].name")).toBeVisible();
  await expect(page.getByTestId("error-buttons[2].key")).toBeVisible();
  await expect(page.getByTestId("menu-empty")).toBeVisible();
  await page.getByTestId("menu-button-2").getByTestId("menu-remove").click();
  await expect(preview).toHaveCount(2);

  await page.getByTestId("menu-publish").click();
  await expect(page.getByTestId("menu-done")).toBeVisible();
  const live = page.getByTestId("menu-live").getByTestId("wx-menu-item");
  await expect(live).toHaveText(["我的推广码", "我的推广页"]);
  await page.screenshot({ path: "test-results/menu-published.png", fullPage: true });

  // The sandbox holds the menu: a follower clicks 我的推广码 and gets their code as the reply.
  await follow(page, "nav-sandbox");
  const bar = page.getByTestId("sim-menu-bar");
  await expect(bar.getByTestId("wx-menu-item").filter({ hasText: "我的推广页" })).toHaveAttribute(
    "href",
    /\/m\/a\/1$/,
  );
  await page.getByTestId("sim-user").fill(unique("menu"));
  await page.getByTestId("sim-follow").click();
  await expect(page.getByTestId("bubble-reply")).toHaveCount(1);
  await bar.getByTestId("wx-menu-item").filter({ hasText: "我的推广码" }).click();
  await expect(page.getByTestId("bubble-user").last()).toContainText("[菜单 menu]");
  await expect(page.getByTestId("bubble-image")).toBeVisible();
  await page.screenshot({ path: "test-results/menu-sandbox.png", fullPage: true });

  // Cleared: followers see no menu again.
  await follow(page, "nav-menu");
  await page.getByTestId("menu-clear").click();
  await expect(page.getByTestId("menu-done")).toBeVisible();
  await expect(page.getByTestId("menu-empty")).toBeVisible();
});
