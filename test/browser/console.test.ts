import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConsoleBrowser, menu, openConsoleBrowser } from '../support/console-browser.ts';
import { type LoginOperator, loginOperator } from '../support/login-operator.ts';
import { openssl, opensslHolderCsr, tempDir } from '../support/openssl-cli.ts';
import { raOperators } from '../support/ra-client.ts';
import { type Stack, startStack } from '../support/sm2ca-stack.ts';
import { createTestDatabase } from '../support/test-database.ts';

/**
 * An RA working day in the console, through the UI alone: the entry clerk, the reviewer and the
 * certificate maker each log in with their own certificate, key file and TOTP code; the holder
 * then downloads the certificate with the reference and code the maker was shown.
 */
describe('operator console in Chromium', () => {
  let stack: Stack;
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let browser: ConsoleBrowser;
  const dir = tempDir('e2e-console-');
  const staff: Record<'clerk' | 'reviewer' | 'maker' | 'auditor', LoginOperator> = {} as never;
  // A TOTP code admits once: each operator logs in once here and the later test reuses the page.
  const pages: Partial<Record<string, Page>> = {};

  beforeAll(async () => {
    db = await createTestDatabase();
    stack = await startStack(db.url, {}, ['ca', 'ra']);
    const operators = await raOperators(stack);
    staff.clerk = await loginOperator(stack, operators, dir, 'wang', ['entry_clerk']);
    staff.reviewer = await loginOperator(stack, operators, dir, 'zhao', ['reviewer']);
    staff.maker = await loginOperator(stack, operators, dir, 'sun', ['certificate_maker']);
    staff.auditor = await loginOperator(stack, operators, dir, 'zhou', ['auditor']);
    browser = await openConsoleBrowser(stack.url.ra);
  }, 240_000);
  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function loggedIn(who: LoginOperator): Promise<Page> {
    const page = await browser.loggedIn(who);
    pages[who.name] = page;
    return page;
  }

  it('enters, reviews, issues, revokes; the holder downloads; the auditor finds it all on record, verifies the chain and exports it', async () => {
    const clerk = await loggedIn(staff.clerk);
    await menu(clerk, '录入申请').click();
    await clerk.locator('input[name=commonName]').fill('李四');

    // The check digit is checked as the clerk types, with the RA's own function.
    await clerk.locator('input[name=residentId]').fill('110105194912310021');
    await clerk.getByText('身份证号码格式或校验位不正确').waitFor();
    await clerk.locator('input[name=residentId]').fill('11010519491231002X');
    await clerk.getByText('校验通过').waitFor();

    // A refusal reads as the RA's message and code.
    await clerk.locator('textarea[name=csr]').fill('not a request');
    await clerk.getByRole('button', { name: '提交申请' }).click();
    const refusal = await clerk.getByRole('alert').textContent();
    expect(refusal).toContain('操作被拒绝');
    expect(refusal).toMatch(/\(CSR_[A-Z_]+\)/);

    const csr = opensslHolderCsr(dir, 'lisi', '/C=CN/CN=李四');
    await clerk.locator('textarea[name=csr]').fill(csr);
    // Keyboard alone from the last field: Tab through the consent boxes to the button, Enter submits.
    await clerk.locator('textarea[name=csr]').focus();
    await clerk.keyboard.press('Tab');
    await clerk.keyboard.press('Tab');
    await clerk.keyboard.press('Space');
    await clerk.keyboard.press('Tab');
    await clerk.keyboard.press('Tab');
    await clerk.keyboard.press('Enter');
    const id = await clerk.getByTestId('application-id').textContent();
    expect(id).toMatch(/^\d+$/);
    expect(await clerk.locator('input[name=publishConsent]').isChecked()).toBe(true);

    const reviewer = await loggedIn(staff.reviewer);
    await menu(reviewer, '审核').click();
    const row = reviewer.locator(`tr[data-application="${id}"]`);
    await row.getByRole('button', { name: '批准' }).click();
    await row.waitFor({ state: 'detached' });

    const maker = await loggedIn(staff.maker);
    await menu(maker, '制证').click();
    await maker.locator(`tr[data-application="${id}"]`).getByRole('button', { name: '签发' }).click();
    const issuerId = (await maker.getByTestId('issuer').textContent())!;
    const serial = (await maker.getByTestId('serial').textContent())!;
    const reference = await maker.getByTestId('reference').textContent();
    const code = await maker.getByTestId('code').textContent();

    const download = await fetch(`${stack.url.ra}/v1/download`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ reference, code, format: 'pem' }),
    });
    expect(download.status).toBe(200);
    const pem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/.exec(
      await download.text(),
    )![0];
    const subject = openssl(
      ['x509', '-noout', '-subject', '-nameopt', 'utf8'],
      dir,
      Buffer.from(pem),
    ).toString();
    expect(subject).toContain('李四');

    await menu(clerk, '撤销申请').click();
    await clerk.locator('input[name=issuerId]').fill(issuerId);
    await clerk.locator('input[name=serial]').fill(serial);
    await clerk.locator('select[name=reason]').selectOption('keyCompromise');
    await clerk.locator('input[name=requestedBy]').fill('李四本人');
    await clerk.getByRole('button', { name: '提交申请' }).click();
    const revocation = await clerk.getByTestId('revocation-id').textContent();

    await menu(reviewer, '撤销审核').click();
    const request = reviewer.locator(`tr[data-revocation="${revocation}"]`);
    await request.getByRole('button', { name: '批准' }).click();
    await request.waitFor({ state: 'detached' });

    await menu(clerk, '证书查询').click();
    await clerk.locator('input[name=serial]').fill(serial);
    await clerk.getByRole('button', { name: '查询' }).click();
    expect(
      await clerk.locator(`tr[data-serial="${serial}"]`).getByTestId('certificate-status').textContent(),
    ).toBe('已撤销');

    const auditor = await loggedIn(staff.auditor);
    await menu(auditor, '审计查询').click();
    await auditor.locator('input[name=actor]').fill(staff.reviewer.name);
    await auditor.getByRole('button', { name: '查询' }).click();
    await auditor.locator('tr[data-action="application.approve"]').first().waitFor();
    await auditor.locator('tr[data-action="revocation.approve"]').first().waitFor();

    await auditor.getByRole('button', { name: '校验审计链' }).click();
    await auditor.getByText('审计链完整', { exact: true }).waitFor();
    expect(Number(await auditor.locator('[data-figure=chainRecords]').textContent())).toBeGreaterThan(0);
    // A day either side: the range holds every record whatever time zone the browser reads it in.
    const local = (ms: number) =>
      new Date(ms - new Date(ms).getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
    await auditor.getByLabel('起始时间').fill(local(Date.now() - 86_400_000));
    await auditor.getByLabel('截止时间').fill(local(Date.now() + 86_400_000));
    const [saved] = await Promise.all([
      auditor.waitForEvent('download'),
      auditor.getByRole('button', { name: '导出并保存' }).click(),
    ]);
    expect(saved.suggestedFilename()).toMatch(/^audit-.*\.jsonl$/);
    const exported = join(dir, 'console-export.jsonl');
    await saved.saveAs(exported);
    expect(readFileSync(exported, 'utf8')).toContain('"type":"record"');
    const offline = await stack.cli(['audit', 'verify', '--file', exported]);
    expect(offline.code, offline.stdout + offline.stderr).toBe(0);
    expect(offline.stdout).toContain('audit trail verified');
    expect(browser.pageErrors).toEqual([]);
  }, 120_000);

  it('switches to English and back, and the choice survives a reload', async () => {
    const page = pages[staff.reviewer.name]!;
    await page.getByRole('button', { name: 'English' }).click();
    await menu(page, 'Review').waitFor();
    await page.reload();
    await page.getByRole('button', { name: '中文' }).waitFor();
    expect(await page.locator('html').getAttribute('lang')).toBe('en');
    await page.getByRole('button', { name: '中文' }).click();
    await menu(page, '审核').waitFor();
  });
});
