import { readFileSync, rmSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConsoleBrowser, menu, openConsoleBrowser } from '../support/console-browser.ts';
import { type LoginOperator, loginOperator } from '../support/login-operator.ts';
import { openssl, opensslHolderCsr, tempDir } from '../support/openssl-cli.ts';
import { raOperators } from '../support/ra-client.ts';
import { type Stack, startStack } from '../support/sm2ca-stack.ts';
import { createTestDatabase } from '../support/test-database.ts';

/**
 * A certificate's life after issuance in the console, through the UI alone: the clerk asks for
 * a freeze and an unfreeze, a key recovery and a renewal, the reviewer decides each, and the
 * certificate's detail page shows what OCSP answers and what the CRLs published after each step.
 */
describe('certificate lifecycle in the console', () => {
  let stack: Stack;
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let browser: ConsoleBrowser;
  const dir = tempDir('e2e-console-lifecycle-');
  const staff = {} as Record<'clerk' | 'reviewer' | 'maker', LoginOperator>;
  const holderId = '11010519491231002X';

  beforeAll(async () => {
    db = await createTestDatabase();
    stack = await startStack(db.url, {}, ['ca', 'ra', 'km', 'crl']);
    const operators = await raOperators(stack);
    staff.clerk = await loginOperator(stack, operators, dir, 'qian', ['entry_clerk']);
    staff.reviewer = await loginOperator(stack, operators, dir, 'feng', ['reviewer']);
    staff.maker = await loginOperator(stack, operators, dir, 'chen', ['certificate_maker']);
    browser = await openConsoleBrowser(stack.url.ra);
  }, 240_000);
  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The detail page, refreshed until the CRL state reads as expected: the CRL service publishes a moment after a change. */
  async function crlStateReads(page: Page, expected: string) {
    const state = page.getByTestId('crl-state');
    for (let tries = 0; tries < 60; tries++) {
      if ((await state.textContent())?.startsWith(expected)) return;
      await page.waitForTimeout(500);
      await page.getByRole('button', { name: '刷新' }).click();
    }
    throw new Error(`CRL state still "${await state.textContent()}", not "${expected}"`);
  }

  async function openDetail(page: Page, serial: string) {
    await menu(page, '证书查询').click();
    await page.locator('input[name=serial]').fill(serial);
    await page.getByRole('button', { name: '查询' }).click();
    await page.locator(`tr[data-serial="${serial}"]`).getByRole('link').click();
    await page.getByTestId('detail-serial').waitFor();
  }

  /** Opens a queue afresh: by way of the desk, so a queue already on screen loads again. */
  async function openQueue(page: Page, queue: string) {
    await menu(page, '首页').click();
    await menu(page, queue).click();
  }

  async function approve(reviewer: Page, queue: string, row: string) {
    await openQueue(reviewer, queue);
    const request = reviewer.locator(row);
    await request.getByRole('button', { name: '批准' }).click();
    await request.waitFor({ state: 'detached' });
  }

  it('freezes and unfreezes, recovers the encryption key, renews; the detail page follows OCSP and the CRLs', async () => {
    const clerk = await browser.loggedIn(staff.clerk);
    const reviewer = await browser.loggedIn(staff.reviewer);
    const maker = await browser.loggedIn(staff.maker);

    // A dual enrollment, so that there is an escrowed encryption key to recover.
    await menu(clerk, '录入申请').click();
    await clerk.locator('input[name=commonName]').fill('周八');
    await clerk.locator('input[name=residentId]').fill(holderId);
    await clerk.locator('textarea[name=csr]').fill(opensslHolderCsr(dir, 'zhouba', '/C=CN/CN=周八'));
    await clerk.locator('input[name=dual]').check();
    await clerk.getByRole('button', { name: '提交申请' }).click();
    const application = await clerk.getByTestId('application-id').textContent();
    await approve(reviewer, '审核', `tr[data-application="${application}"]`);
    await menu(maker, '制证').click();
    await maker
      .locator(`tr[data-application="${application}"]`)
      .getByRole('button', { name: '签发' })
      .click();
    const issuerId = (await maker.getByTestId('issuer').textContent())!;
    const serial = (await maker.getByTestId('serial').textContent())!;

    // The detail page: the RA's decoded fields of the certificate as issued, and its download.
    await openDetail(clerk, serial);
    expect(await clerk.getByTestId('detail-subject').textContent()).toContain('CN=周八');
    expect(await clerk.getByTestId('detail-key-usage').textContent()).toContain('digitalSignature');
    expect(await clerk.getByTestId('detail-profile').textContent()).toContain('person-sign');
    expect(await clerk.getByTestId('ocsp-status').textContent()).toBe('有效');
    const [download] = await Promise.all([
      clerk.waitForEvent('download'),
      clerk.getByRole('button', { name: '下载 PEM' }).click(),
    ]);
    const pem = readFileSync((await download.path())!);
    const fields = openssl(
      ['x509', '-noout', '-serial', '-subject', '-nameopt', 'utf8'],
      dir,
      pem,
    ).toString();
    expect(fields.toLowerCase()).toContain(`serial=${serial}`);
    expect(fields).toContain('周八');
    const encryptionSerial = (await clerk.getByTestId('twin-serial').textContent())!;

    // A refusal reads as the RA's message and code: a good certificate has no freeze to end.
    await menu(clerk, '冻结/解冻').click();
    await clerk.locator('select[name=holdAction]').selectOption('unfreezes');
    await clerk.locator('input[name=issuerId]').fill(issuerId);
    await clerk.locator('input[name=serial]').fill(serial);
    await clerk.locator('input[name=requestedBy]').fill('周八本人');
    await clerk.getByRole('button', { name: '提交申请' }).click();
    expect(await clerk.getByRole('alert').textContent()).toMatch(/操作被拒绝: .+ \([A-Z_]+\)/);

    // Freeze: entered by the clerk, decided by the reviewer in the revocation queue.
    await clerk.locator('select[name=holdAction]').selectOption('freezes');
    await clerk.getByRole('button', { name: '提交申请' }).click();
    const freeze = await clerk.getByTestId('hold-id').textContent();
    await openQueue(reviewer, '撤销审核');
    expect(
      await reviewer.locator(`tr[data-revocation="${freeze}"]`).getByTestId('revocation-kind').textContent(),
    ).toBe('冻结');
    await approve(reviewer, '撤销审核', `tr[data-revocation="${freeze}"]`);
    await openDetail(clerk, serial);
    expect(await clerk.getByTestId('ocsp-status').textContent()).toMatch(/^已冻结 · .+ · certificateHold$/);
    await crlStateReads(clerk, '已列入最新 CRL');

    // Unfreeze from the detail page: the form comes filled in but for who asked; Enter submits.
    await clerk.getByRole('link', { name: '解冻', exact: true }).click();
    expect(await clerk.locator('select[name=holdAction]').inputValue()).toBe('unfreezes');
    expect(await clerk.locator('input[name=serial]').inputValue()).toBe(serial);
    await clerk.locator('input[name=requestedBy]').fill('周八本人');
    await clerk.keyboard.press('Enter');
    const unfreeze = await clerk.getByTestId('hold-id').textContent();
    await approve(reviewer, '撤销审核', `tr[data-revocation="${unfreeze}"]`);
    await openDetail(clerk, serial);
    expect(await clerk.getByTestId('ocsp-status').textContent()).toBe('有效');
    await crlStateReads(clerk, '未列入最新 CRL');

    // Key recovery of the encryption key, with the identity check recorded; approval releases it.
    await menu(clerk, '密钥恢复').click();
    await clerk.locator('input[name=issuerId]').fill(issuerId);
    await clerk.locator('input[name=serial]').fill(encryptionSerial);
    await clerk.locator('select[name=documentType]').selectOption('resident_id_card');
    await clerk.locator('input[name=documentNumber]').fill(holderId);
    await clerk.locator('input[name=method]').fill('读卡器读取原件，现场比对照片');
    await clerk.getByRole('button', { name: '提交申请' }).click();
    const recovery = await clerk.getByTestId('key-recovery-id').textContent();
    await menu(reviewer, '密钥恢复审核').click();
    const recoveryRow = reviewer.locator(`tr[data-key-recovery="${recovery}"]`);
    expect(await recoveryRow.textContent()).toContain(holderId);
    await recoveryRow.getByRole('button', { name: '批准' }).click();
    expect(await reviewer.getByTestId('recovery-reference').textContent()).toMatch(/^\d{12}$/);
    expect(await reviewer.getByTestId('recovery-code').textContent()).toMatch(/\S{8,}/);

    // Renewal with the same key: the request itself is the holder's evidence.
    await menu(clerk, '证书更新').click();
    await clerk.locator('input[name=issuerId]').fill(issuerId);
    await clerk.locator('input[name=serial]').fill(serial);
    await clerk
      .locator('textarea[name=csr]')
      .fill(openssl(['req', '-in', 'zhouba.csr', '-outform', 'PEM'], dir).toString());
    await clerk.getByRole('button', { name: '提交申请' }).click();
    const renewal = await clerk.getByTestId('renewal-id').textContent();
    await openQueue(reviewer, '审核');
    const renewalRow = reviewer.locator(`tr[data-application="${renewal}"]`);
    expect(await renewalRow.getByTestId('application-kind').textContent()).toBe('更新');
    await approve(reviewer, '审核', `tr[data-application="${renewal}"]`);
    await openQueue(maker, '制证');
    await maker.locator(`tr[data-application="${renewal}"]`).getByRole('button', { name: '签发' }).click();
    const renewed = (await maker.getByTestId('serial').textContent())!;
    expect(renewed).not.toBe(serial);

    // The profile supersedes the renewed certificate: revoked, and on the next CRL.
    await openDetail(clerk, serial);
    expect(await clerk.getByTestId('ocsp-status').textContent()).toMatch(/^已撤销 · .+ · superseded$/);
    await crlStateReads(clerk, '已列入最新 CRL');
    await openDetail(clerk, renewed);
    expect(await clerk.getByTestId('ocsp-status').textContent()).toBe('有效');
    expect(browser.pageErrors).toEqual([]);
  }, 300_000);
});
