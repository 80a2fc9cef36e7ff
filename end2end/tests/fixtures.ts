import { test as base, expect, Page } from "@playwright/test";

/**
 * Every test fails on a console error or an uncaught page error, except those a test declares
 * expected with `test.use({ expectedConsoleErrors: [/…/] })`.
 */
export const test = base.extend<{ expectedConsoleErrors: RegExp[]; consoleErrors: string[] }>({
  expectedConsoleErrors: [[], { option: true }],
  consoleErrors: [
    async ({ page, expectedConsoleErrors }, use) => {
      const errors: string[] = [];
      page.on("console", (msg) => {
        if (msg.type() === "error") errors.push(msg.text());
      });
      page.on("pageerror", (err) => errors.push(err.message));
      await use(errors);
      const unexpected = errors.filter((e) => !expectedConsoleErrors.some((re) => re.test(e)));
      expect(unexpected, "console errors").toEqual([]);
    },
    { auto: true },
  ],
});

/** Waits until the WASM bundle has hydrated the page (the app marks <body>). */
export async function hydrated(page: Page) {
  await expect(page.locator("body")).toHaveAttribute("data-hydrated", "true");
}

/**
 * Follows a link that loads another page (the dashboard renders pages on the server) and waits
 * until that page's islands are hydrated.
 */
export async function follow(page: Page, testid: string) {
  const before = page.url();
  await page.getByTestId(testid).first().click();
  await page.waitForURL((url) => url.toString() !== before);
  await hydrated(page);
}

/** The users `cargo xtask test` creates for the browser tests. */
export const PASSWORD = process.env.E2E_PASSWORD ?? "e2e-password-1";
export type TestUser = "e2e-admin" | "e2e-manager" | "e2e-staff";

/** Signs in through the login form and waits for the overview. */
export async function login(page: Page, user: TestUser = "e2e-admin") {
  await page.goto("/login");
  await hydrated(page);
  await page.getByTestId("input-username").fill(user);
  await page.getByTestId("input-password").fill(PASSWORD);
  await page.getByTestId("login-submit").click();
  await expect(page).toHaveURL(/\/$/);
  await hydrated(page);
  await expect(page.getByTestId("user-name")).toContainText(user);
}

/** A name no other test uses. */
export function unique(prefix: string) {
  return `${prefix}${Date.now().toString(36)}${Math.floor(Math.random() * 1000)}`;
}

export { expect };

/** A new referrer named `name` with one permanent code: its page's path and the code's id. */
export async function referrerWithCode(page: Page, name: string): Promise<{ url: string; code: number }> {
  await follow(page, "nav-referrers");
  await page.getByTestId("input-name").fill(name);
  await page.getByTestId("create-referrer").click();
  await page.getByTestId("referrer-search").fill(name);
  await expect(page.getByTestId("referrer-link")).toHaveCount(1);
  await follow(page, "referrer-link");
  await page.getByTestId("create-code").click();
  await expect(page.getByTestId("code-card")).toHaveCount(1);
  const png = await page.getByTestId("download-png").getAttribute("href");
  return { url: new URL(page.url()).pathname, code: Number(png?.match(/qrcodes\/(\d+)\//)?.[1]) };
}

/** Beijing wall-clock time of `at`, `YYYY-MM-DD HH:MM` (the dashboard's times). */
export function beijing(at: Date): string {
  const parts = new Intl.DateTimeFormat("en-CA", {
    timeZone: "Asia/Shanghai",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
  }).formatToParts(at);
  const p = (t: string) => parts.find((x) => x.type === t)?.value ?? "";
  return `${p("year")}-${p("month")}-${p("day")} ${p("hour")}:${p("minute")}`;
}
