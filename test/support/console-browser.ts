import { type Browser, chromium, type Page } from 'playwright-core';
import type { LoginOperator } from './login-operator.ts';

/** Debian's Chromium, installed by .ci/run; no browser download. The flags keep it off the closed network. */
export const chromiumLaunchOptions = {
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
};

export interface ConsoleBrowser {
  browser: Browser;
  /** Uncaught errors of every page opened, prefixed by the operator's name; a clean run leaves it empty. */
  pageErrors: string[];
  /**
   * A fresh browser profile at 1366×768 in Chinese, logged in to the console as `who` through the
   * login form: certificate file, key file, TOTP code. A TOTP code admits once, so log each
   * operator in once and reuse the page.
   */
  loggedIn(who: LoginOperator): Promise<Page>;
  close(): Promise<void>;
}

export async function openConsoleBrowser(raUrl: string): Promise<ConsoleBrowser> {
  const browser = await chromium.launch(chromiumLaunchOptions);
  const pageErrors: string[] = [];
  return {
    browser,
    pageErrors,
    async loggedIn(who) {
      const context = await browser.newContext({
        viewport: { width: 1366, height: 768 },
        locale: 'zh-CN',
        acceptDownloads: true,
      });
      const page = await context.newPage();
      page.on('pageerror', (err) => pageErrors.push(`${who.name}: ${err.message}`));
      await page.goto(`${raUrl}/console/`);
      await page.locator('input[name=certificate]').setInputFiles(who.certificatePath);
      await page.locator('input[name=key]').setInputFiles(who.keyPath);
      await page.locator('input[name=totp]').fill(who.totp.generate());
      await page.getByRole('button', { name: '登录' }).click();
      await page.getByTestId('operator-name').waitFor();
      const shown = await page.getByTestId('operator-name').textContent();
      if (shown !== who.name) throw new Error(`logged in as ${shown}, not ${who.name}`);
      return page;
    },
    close: () => browser.close(),
  };
}

/** A link of the console's main navigation, by its visible name. */
export const menu = (page: Page, name: string) =>
  page.getByRole('navigation', { name: 'main' }).getByRole('link', { name, exact: true });
