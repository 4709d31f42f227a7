import { type Browser, chromium, type Page } from 'playwright-core';
import type { LoginOperator } from './login-operator.ts';

/** Debian's Chromium, installed by .ci/run; no browser download. The flags keep it off the closed network. */
const chromiumOptions = {
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

export const launchChromium = (): Promise<Browser> => chromium.launch(chromiumOptions);

/** A link of the console's main navigation, by its visible name. */
export const menu = (page: Page, name: string) =>
  page.getByRole('navigation', { name: 'main' }).getByRole('link', { name, exact: true });

/** The console's login page in a fresh context (zh, 1366×768), downloads allowed, page errors collected. */
export async function consolePage(
  browser: Browser,
  raUrl: string,
  pageErrors: string[],
  who = 'anonymous',
): Promise<Page> {
  const context = await browser.newContext({
    viewport: { width: 1366, height: 768 },
    locale: 'zh-CN',
    acceptDownloads: true,
  });
  const page = await context.newPage();
  page.on('pageerror', (err) => pageErrors.push(`${who}: ${err.message}`));
  await page.goto(`${raUrl}/console/`);
  return page;
}

/** Fills the login form with an operator's files (another key file and its passphrase if given). */
export async function fillLogin(
  page: Page,
  who: LoginOperator,
  key: { path: string; passphrase?: string } = { path: who.keyPath },
): Promise<void> {
  await page.locator('input[name=certificate]').setInputFiles(who.certificatePath);
  await page.locator('input[name=key]').setInputFiles(key.path);
  await page.locator('input[name=passphrase]').fill(key.passphrase ?? '');
  await page.locator('input[name=totp]').fill(who.totp.generate());
  await page.getByRole('button', { name: '登录' }).click();
}

/**
 * An operator logged in to the console as a person does. A TOTP code admits once, so a test logs
 * each operator in once and keeps the page.
 */
export async function consoleLogin(
  browser: Browser,
  raUrl: string,
  who: LoginOperator,
  pageErrors: string[],
  key?: { path: string; passphrase?: string },
): Promise<Page> {
  const page = await consolePage(browser, raUrl, pageErrors, who.name);
  await fillLogin(page, who, key);
  await page.getByTestId('operator-name').waitFor();
  const shown = await page.getByTestId('operator-name').textContent();
  if (shown !== who.name) throw new Error(`logged in as ${shown}, not ${who.name}`);
  return page;
}

export interface ConsoleBrowser {
  browser: Browser;
  /** Uncaught errors of every page opened, prefixed by the operator's name; a clean run leaves it empty. */
  pageErrors: string[];
  /** A fresh browser profile logged in to the console as `who` (see consoleLogin). */
  loggedIn(who: LoginOperator): Promise<Page>;
  close(): Promise<void>;
}

export async function openConsoleBrowser(raUrl: string): Promise<ConsoleBrowser> {
  const browser = await launchChromium();
  const pageErrors: string[] = [];
  return {
    browser,
    pageErrors,
    loggedIn: (who) => consoleLogin(browser, raUrl, who, pageErrors),
    close: () => browser.close(),
  };
}
