import { describe, expect, it } from 'vitest';
import { reportHtml } from '../../cli/src/report/report-html.ts';
import { reportPdf, withChromium } from '../../cli/src/report/report-pdf.ts';
import { screenshotDifference } from '../support/screenshot-match.ts';
import { fixedReport } from './report-fixture.ts';

const baseline = new URL('./screenshots/yearly-report.png', import.meta.url).pathname;
const sections = ['certificates', 'applications', 'availability', 'crl', 'revocations'];

/**
 * The HTML report in Debian's headless Chromium, offline: it opens without console errors or
 * requests, draws every chart, and looks like the kept screenshot (fixed figures; a loose
 * comparison, as font rendering differs slightly between Chromium builds).
 * UPDATE_SCREENSHOTS=1 writes the kept screenshot anew.
 */
describe('yearly report page', () => {
  it('opens offline without errors, shows every section and matches the kept screenshot', async () => {
    const html = reportHtml(fixedReport);
    const shot = await withChromium(async (context) => {
      const page = await context.newPage();
      const problems: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error' || m.type() === 'warning') problems.push(m.text());
      });
      page.on('pageerror', (e) => problems.push(e.message));
      page.on('request', (r) => {
        if (!r.url().startsWith('data:') && r.url() !== 'about:blank') problems.push(`request ${r.url()}`);
      });
      await page.setViewportSize({ width: 1000, height: 800 });
      await page.setContent(html, { waitUntil: 'load' });
      await page.waitForSelector('body[data-charts-ready="true"]');
      for (const id of sections) expect(await page.locator(`section#${id} h2`).isVisible(), id).toBe(true);
      expect(await page.locator('canvas').count()).toBe(4);
      expect(await page.locator('#availability-not-measured').textContent()).toContain('Not measured');
      expect(await page.locator('section#certificates').textContent()).toContain('1460');
      expect(problems).toEqual([]);
      return page.screenshot({ fullPage: true });
    });
    expect(screenshotDifference(shot, baseline)).toBeLessThan(0.02);
  }, 60_000);

  it('prints to PDF', async () => {
    const pdf = await reportPdf(reportHtml(fixedReport));
    expect(pdf.subarray(0, 5).toString('latin1')).toBe('%PDF-');
    expect(pdf.length).toBeGreaterThan(10_000);
  }, 60_000);
});
