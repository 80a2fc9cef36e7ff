import AxeBuilder from "@axe-core/playwright";
import type { Page } from "@playwright/test";
import { test, expect, beijing, hydrated, login, unique, type TestUser } from "./fixtures";

// The refused sign-in (401), staff opening a manager's page (403), the unknown member page (404)
// and a refused form (422) are reported on the console; the audit covers those states too.
test.use({ expectedConsoleErrors: [/status of (401|403|404|422)/] });

/** WCAG 2.1 A and AA, as axe-core checks them. */
const TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"];

/** Audits the page as it is now and fails on any violation, naming the rule and the elements. */
async function audit(page: Page, what: string) {
  const results = await new AxeBuilder({ page }).withTags(TAGS).analyze();
  const found = results.violations.map(
    (v) =>
      `${v.id} (${v.impact}) ×${v.nodes.length}: ${v.nodes
        .slice(0, 4)
        .map((n) => n.target.join(" "))
        .join(" | ")}`,
  );
  expect.soft(found, `${what}: accessibility violations`).toEqual([]);
}

/** Opens `path`, waits for its islands, audits it. */
async function visit(page: Page, path: string, what: string) {
  await page.goto(path);
  await hydrated(page);
  await audit(page, what);
}

/** A referrer with a code and a follower, so the detail page has every section filled. */
async function seed(page: Page): Promise<string> {
  await page.goto("/referrers");
  await hydrated(page);
  const name = unique("无障碍");
  await page.getByTestId("input-name").fill(name);
  await page.getByTestId("create-referrer").click();
  await page.getByTestId("referrer-search").fill(name);
  await expect(page.getByTestId("referrer-link")).toHaveCount(1);
  // By name: a list refreshed by another test's referrer may still be swapped in.
  await page.getByTestId("referrer-link").filter({ hasText: name }).click();
  await page.waitForURL(/\/referrers\/\d+/);
  await hydrated(page);
  await page.getByTestId("create-code").click();
  await expect(page.getByTestId("code-card")).toHaveCount(1);
  const png = await page.getByTestId("download-png").getAttribute("href");
  const code = Number(png?.match(/qrcodes\/(\d+)\//)?.[1]);
  const user = unique("a11y");
  expect((await page.request.post("/sandbox/simulate/scan", { data: { qrcode_id: code, user } })).ok()).toBeTruthy();
  expect((await page.request.post("/sandbox/simulate/unfollow", { data: { user } })).ok()).toBeTruthy();
  return new URL(page.url()).pathname;
}

/** A running campaign with a coupon and a link milestone: its page's path. */
async function seedCampaign(page: Page): Promise<string> {
  const today = beijing(new Date()).slice(0, 10);
  const input = {
    name: unique("无障碍活动"),
    keyword: unique("a11y"),
    starts_on: today,
    ends_on: today,
    milestones: [
      { goal: 2, reward_kind: "coupon", reward_name: "10 元代金券" },
      { goal: 5, reward_kind: "link", reward_name: "电子书", link: "https://example.com/book" },
    ],
  };
  const res = await page.request.post("/sfn/campaigns/create", { data: { input } });
  expect(res.ok(), await res.text()).toBeTruthy();
  return `/campaigns/${(await res.json()).id}`;
}

const PAGES: [string, string][] = [
  ["/", "overview"],
  ["/referrers", "referrers"],
  ["/qrcodes", "QR codes"],
  ["/leaderboard", "leaderboard"],
  ["/stats", "stats"],
  ["/reconcile", "reconciliation"],
  ["/review", "review"],
  ["/webhooks", "webhooks"],
  ["/campaigns", "campaigns"],
  ["/settings", "settings"],
  ["/privacy", "privacy"],
  ["/setup", "setup"],
  ["/menu", "custom menu"],
  ["/sandbox", "sandbox"],
  ["/no-such-page", "not found"],
];

test("the sign-in page passes the audit", async ({ page }) => {
  await visit(page, "/login", "login");
  // With a refused sign-in shown.
  await page.getByTestId("input-username").fill("nobody");
  await page.getByTestId("input-password").fill("wrong-password");
  await page.getByTestId("login-submit").click();
  await expect(page.getByRole("alert")).toBeVisible();
  await audit(page, "login, refused");
});

for (const user of ["e2e-admin", "e2e-manager", "e2e-staff"] as TestUser[]) {
  test(`every dashboard page passes the audit as ${user}`, async ({ page }) => {
    test.setTimeout(120_000);
    await login(page, user);
    const detail = await seed(page);
    await visit(page, detail, "referrer detail");
    for (const [path, what] of PAGES) {
      await visit(page, path, `${what} as ${user}`);
    }
    if (user !== "e2e-staff") {
      const campaign = await seedCampaign(page);
      await visit(page, campaign, `campaign as ${user}`);
      await page.getByTestId("campaign-stop").click();
      await expect(page.getByTestId("confirm-dialog")).toBeVisible();
      await audit(page, `campaign with a dialog as ${user}`);
      await page.getByTestId("confirm-ok").click();
      await expect(page.getByTestId("campaign-status")).toHaveAttribute("data-status", "ended");
    }
    // States beyond the first view: a refused form and an open confirmation dialog.
    await page.goto("/referrers");
    await hydrated(page);
    await page.getByTestId("create-referrer").click();
    await expect(page.getByTestId("error-name")).toBeVisible();
    await audit(page, `referrers with a refused form as ${user}`);
    if (user !== "e2e-staff") {
      await page.goto(detail);
      await hydrated(page);
      await page.getByTestId("void-credit").click();
      await expect(page.getByTestId("confirm-dialog")).toBeVisible();
      await audit(page, `referrer detail with a dialog as ${user}`);
      await page.keyboard.press("Escape");
      await expect(page.getByTestId("confirm-dialog")).toHaveCount(0);
    }
    // The English dashboard too.
    await page.getByTestId("lang-toggle").click();
    await expect(page.locator("html")).toHaveAttribute("lang", "en");
    await hydrated(page);
    await audit(page, `not found in English as ${user}`);
    await visit(page, "/referrers", `referrers in English as ${user}`);
  });
}

test("a member's page passes the audit on a phone", async ({ page, browser }) => {
  await login(page, "e2e-staff");
  await page.goto("/sandbox");
  await hydrated(page);
  const member = unique("m");
  await page.getByTestId("sim-user").fill(member);
  await page.getByTestId("sim-follow").click();
  await expect(page.getByTestId("bubble-reply")).toHaveCount(1);
  await audit(page, "sandbox with a conversation");
  await page.getByTestId("sim-text").fill("推广码");
  await page.getByTestId("sim-send").click();
  const linkMessage = page.getByTestId("inbox-message").filter({ hasText: "/m/" });
  await expect(linkMessage).toHaveCount(1, { timeout: 15_000 });
  const text = (await linkMessage.textContent()) ?? "";
  const link = new URL(text.match(/https?:\/\/\S+\/m\/[A-Za-z0-9_-]+/)![0]);
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 } });
  const mine = await phone.newPage();
  await visit(mine, link.pathname, "member page");
  await visit(mine, "/m/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "member page not found");
  await phone.close();
});

test("the dashboard is usable from the keyboard, with a visible focus", async ({ page }) => {
  await page.goto("/login");
  await hydrated(page);
  // Username, password, then Enter signs in: no mouse.
  await page.getByTestId("input-username").focus();
  await page.keyboard.type("e2e-manager");
  await page.keyboard.press("Tab");
  await expect(page.getByTestId("input-password")).toBeFocused();
  await page.keyboard.type(process.env.E2E_PASSWORD ?? "e2e-password-1");
  await page.keyboard.press("Enter");
  await expect(page).toHaveURL(/\/$/);
  await hydrated(page);
  // Tabbing reaches the navigation; the focused link shows an outline.
  let reached = false;
  for (let i = 0; i < 15 && !reached; i++) {
    await page.keyboard.press("Tab");
    reached = await page.evaluate(() => document.activeElement?.getAttribute("data-testid") === "nav-review");
  }
  expect(reached, "Tab reaches the review link").toBeTruthy();
  const outline = await page.evaluate(() => getComputedStyle(document.activeElement as Element).outlineStyle);
  expect(outline).not.toBe("none");
  await page.keyboard.press("Enter");
  await expect(page).toHaveURL(/\/review$/);
  await hydrated(page);
  // The filter works from the keyboard: choose a state, submit with Enter.
  await page.getByTestId("review-status").focus();
  await page.keyboard.press("ArrowDown");
  await page.getByTestId("review-apply").focus();
  await page.keyboard.press("Enter");
  await expect(page).toHaveURL(/status=confirmed/);
  await hydrated(page);
  // The language switch too.
  await page.getByTestId("lang-toggle").focus();
  await page.keyboard.press("Enter");
  await expect(page.locator("html")).toHaveAttribute("lang", "en");
  await hydrated(page);
  await expect(page.getByTestId("lang-toggle")).toHaveText("中文");
});
