import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext } from 'playwright-core';

/** Debian's Chromium, started so that it neither phones home nor keeps state between runs. */
export const chromiumPath = '/usr/bin/chromium';
const flags = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/** Runs `use` with a page in a fresh headless Chromium profile, removed afterwards. */
export async function withChromium<T>(use: (context: BrowserContext) => Promise<T>): Promise<T> {
  // Imported here: loading playwright costs every other command, `sm2ca start` among them, seconds.
  const { chromium } = await import('playwright-core');
  const profile = mkdtempSync(join(tmpdir(), 'sm2ca-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    args: flags,
    offline: true,
  });
  try {
    return await use(context);
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

/** The report page printed to A4 PDF, once its charts are drawn. */
export async function reportPdf(html: string): Promise<Buffer> {
  return withChromium(async (context) => {
    const page = await context.newPage();
    await page.setContent(html, { waitUntil: 'load' });
    await page.waitForSelector('body[data-charts-ready="true"]');
    return page.pdf({ format: 'A4', printBackground: true, margin: { top: '1cm', bottom: '1cm' } });
  });
}
