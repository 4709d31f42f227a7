import { readFileSync, rmSync } from 'node:fs';
import { isResidentId } from '@sm2ca/pki/identity-numbers';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConsoleBrowser, consolePage, menu, openConsoleBrowser } from '../support/console-browser.ts';
import {
  chooseByKeyboard,
  loginByKeyboard,
  openByKeyboard,
  pressButton,
  tabTo,
  typeInto,
} from '../support/console-keyboard.ts';
import { type LoginOperator, loginOperator } from '../support/login-operator.ts';
import { gmDistId, openssl, opensslHolderCsr, tempDir } from '../support/openssl-cli.ts';
import { raOperators } from '../support/ra-client.ts';
import { servicePid } from '../support/service-pid.ts';
import { type Stack, startStack } from '../support/sm2ca-stack.ts';
import { addStackOperator } from '../support/stack-operators.ts';
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
  const staff = {} as Record<'clerk' | 'clerk2' | 'reviewer' | 'maker', LoginOperator>;
  const holderId = '11010519491231002X';
  // A TOTP code admits once: the reviewer and the maker log in once and the keyboard test reuses their pages.
  let clerk: Page;
  let reviewer: Page;
  let maker: Page;
  let renewed: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    stack = await startStack(db.url, {}, ['ca', 'ra', 'km', 'crl']);
    const operators = await raOperators(stack);
    staff.clerk = await loginOperator(stack, operators, dir, 'qian', ['entry_clerk']);
    staff.clerk2 = await loginOperator(stack, operators, dir, 'zhu', ['entry_clerk']);
    staff.reviewer = await loginOperator(stack, operators, dir, 'feng', ['reviewer']);
    staff.maker = await loginOperator(stack, operators, dir, 'chen', ['certificate_maker']);
    browser = await openConsoleBrowser(stack.url.ra);
  }, 360_000);
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
    clerk = await browser.loggedIn(staff.clerk);
    reviewer = await browser.loggedIn(staff.reviewer);
    maker = await browser.loggedIn(staff.maker);

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
    renewed = (await maker.getByTestId('serial').textContent())!;
    expect(renewed).not.toBe(serial);

    // The profile supersedes the renewed certificate: revoked, and on the next CRL.
    await openDetail(clerk, serial);
    expect(await clerk.getByTestId('ocsp-status').textContent()).toMatch(/^已撤销 · .+ · superseded$/);
    await crlStateReads(clerk, '已列入最新 CRL');
    await openDetail(clerk, renewed);
    expect(await clerk.getByTestId('ocsp-status').textContent()).toBe('有效');
    expect(browser.pageErrors).toEqual([]);
  }, 300_000);

  /** A queue opened afresh by keyboard, the row's approval by Tab and Enter. */
  async function approveByKeyboard(page: Page, queue: string, row: string) {
    await openByKeyboard(page, queue);
    await page.locator(row).waitFor();
    await pressButton(page, `${row} .actions button:not(.secondary)`);
    await page.locator(row).waitFor({ state: 'detached' });
  }

  /** The detail page of a certificate by keyboard: the search, Enter, the result's link. */
  async function openDetailByKeyboard(page: Page, serial: string) {
    await openByKeyboard(page, '#/certificates');
    await typeInto(page, 'input[name=serial]', serial);
    await page.keyboard.press('Enter');
    await page.locator(`tr[data-serial="${serial}"]`).waitFor();
    await pressButton(page, `tr[data-serial="${serial}"] a`);
    await page.getByTestId('detail-serial').waitFor();
  }

  it('by keyboard alone: login, entry, review, issue, key recovery asked of KM again, revocation, freeze, re-key, new-key renewal', async () => {
    // Another holder, with a resident ID whose check digit is right.
    const base = '11010519800101001';
    const residentId = `${base}${[...'0123456789X'].find((digit) => isResidentId(`${base}${digit}`))}`;
    const clerk = await consolePage(browser.browser, stack.url.ra, browser.pageErrors, 'zhu');
    await loginByKeyboard(clerk, staff.clerk2);

    await openByKeyboard(clerk, '#/enter');
    await typeInto(clerk, 'input[name=commonName]', '吴九');
    await typeInto(clerk, 'input[name=residentId]', residentId);
    await clerk.getByText('校验通过').waitFor();
    await typeInto(clerk, 'textarea[name=csr]', opensslHolderCsr(dir, 'wujiu', '/C=CN/CN=吴九'));
    await tabTo(clerk, 'input[name=dual]');
    await clerk.keyboard.press('Space');
    await pressButton(clerk, 'form button[type=submit]');
    const application = await clerk.getByTestId('application-id').textContent();
    await approveByKeyboard(reviewer, '#/review', `tr[data-application="${application}"]`);
    await openByKeyboard(maker, '#/issue');
    await maker.locator(`tr[data-application="${application}"]`).waitFor();
    await pressButton(maker, `tr[data-application="${application}"] button`, 'Space');
    const issuerId = (await maker.getByTestId('issuer').textContent())!;
    const serial = (await maker.getByTestId('serial').textContent())!;
    await openDetailByKeyboard(clerk, serial);
    const encryptionSerial = (await clerk.getByTestId('twin-serial').textContent())!;

    // Key recovery while KM does not answer: the approval leaves it approved, and it is asked again.
    await openByKeyboard(clerk, '#/key-recoveries');
    await typeInto(clerk, 'input[name=issuerId]', issuerId);
    await typeInto(clerk, 'input[name=serial]', encryptionSerial);
    await chooseByKeyboard(clerk, 'select[name=documentType]', 'resident_id_card');
    await typeInto(clerk, 'input[name=documentNumber]', residentId);
    await typeInto(clerk, 'input[name=method]', '读卡器读取原件');
    await clerk.keyboard.press('Enter');
    const recovery = await clerk.getByTestId('key-recovery-id').textContent();
    const row = `tr[data-key-recovery="${recovery}"]`;
    const km = servicePid(stack, 'km');
    process.kill(km, 'SIGSTOP');
    try {
      await openByKeyboard(reviewer, '#/key-recovery-review');
      await reviewer.locator(row).waitFor();
      await pressButton(reviewer, `${row} .actions button:not(.secondary)`);
      await reviewer.locator(row).getByRole('alert').waitFor({ timeout: 60_000 });
    } finally {
      process.kill(km, 'SIGCONT');
    }
    expect(await reviewer.locator(row).getByRole('alert').textContent()).toContain('retry');
    await pressButton(reviewer, 'main > button.secondary');
    await pressButton(reviewer, `${row} td:last-child > button`);
    expect(await reviewer.getByTestId('recovery-code').textContent()).toMatch(/\S{8,}/);

    // Revocation of the encryption certificate, by keyboard at both desks.
    await openByKeyboard(clerk, '#/revoke');
    await typeInto(clerk, 'input[name=issuerId]', issuerId);
    await typeInto(clerk, 'input[name=serial]', encryptionSerial);
    await chooseByKeyboard(clerk, 'select[name=reason]', 'cessationOfOperation');
    await typeInto(clerk, 'input[name=requestedBy]', '吴九本人');
    await clerk.keyboard.press('Enter');
    const revocation = await clerk.getByTestId('revocation-id').textContent();
    await approveByKeyboard(reviewer, '#/revocations', `tr[data-revocation="${revocation}"]`);

    // Freeze, then re-key the frozen certificate from its detail page: approval revokes it.
    await openByKeyboard(clerk, '#/holds');
    await typeInto(clerk, 'input[name=issuerId]', issuerId);
    await typeInto(clerk, 'input[name=serial]', serial);
    await typeInto(clerk, 'input[name=requestedBy]', '吴九本人');
    await clerk.keyboard.press('Enter');
    const freeze = await clerk.getByTestId('hold-id').textContent();
    await approveByKeyboard(reviewer, '#/revocations', `tr[data-revocation="${freeze}"]`);
    await openDetailByKeyboard(clerk, serial);
    await pressButton(clerk, 'a[href^="#/rekey"]');
    expect(await clerk.locator('input[name=serial]').inputValue()).toBe(serial);
    await typeInto(clerk, 'textarea[name=csr]', opensslHolderCsr(dir, 'wujiu2', '/C=CN/CN=吴九'));
    await typeInto(clerk, 'input[name=commonName]', '吴九');
    await typeInto(clerk, 'input[name=residentId]', residentId);
    await pressButton(clerk, 'form button[type=submit]');
    const rekey = await clerk.getByTestId('rekey-id').textContent();
    await openByKeyboard(reviewer, '#/review');
    expect(
      await reviewer.locator(`tr[data-application="${rekey}"]`).getByTestId('application-kind').textContent(),
    ).toBe('密钥更新批准后原证书立即以 keyCompromise 撤销');
    await approveByKeyboard(reviewer, '#/review', `tr[data-application="${rekey}"]`);
    await openDetailByKeyboard(clerk, serial);
    expect(await clerk.getByTestId('ocsp-status').textContent()).toMatch(/^已撤销 · .+ · keyCompromise$/);

    // New-key renewal of the first test's renewed certificate: a new request, signed over by the current key.
    const newCsr = opensslHolderCsr(dir, 'zhouba2', '/C=CN/CN=周八');
    const signature = openssl(
      ['dgst', '-sm3', '-sigopt', gmDistId, '-sign', 'zhouba.key'],
      dir,
      openssl(['req', '-in', 'zhouba2.csr', '-outform', 'DER'], dir),
    ).toString('base64');
    await openByKeyboard(clerk, '#/renew');
    await typeInto(clerk, 'input[name=issuerId]', issuerId);
    await typeInto(clerk, 'input[name=serial]', renewed);
    await typeInto(clerk, 'textarea[name=csr]', newCsr);
    await typeInto(clerk, 'input[name=currentKeySignature]', signature);
    await pressButton(clerk, 'form button[type=submit]');
    const renewal = await clerk.getByTestId('renewal-id').textContent();
    await approveByKeyboard(reviewer, '#/review', `tr[data-application="${renewal}"]`);
    expect(browser.pageErrors).toEqual([]);
  }, 300_000);

  it('enters an application under a template of its own name approved through the API; the detail page names it', async () => {
    const [drafter, approver] = await Promise.all([
      addStackOperator(stack, 'template-drafter', ['business-admin']),
      addStackOperator(stack, 'template-approver', ['business-admin']),
    ]);
    const asAdmin = (credential: string, method: 'GET' | 'POST', path: string, body?: unknown) =>
      fetch(`${stack.url.ra}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${credential}`,
          ...(body ? { 'content-type': 'application/json' } : {}),
        },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
    const seeded = (await (
      await asAdmin(drafter, 'GET', '/v1/admin/templates/person-sign/versions/1')
    ).json()) as { body: Record<string, unknown> };
    const drafted = await asAdmin(drafter, 'POST', '/v1/admin/templates/tax-bureau-staff/versions', {
      ...seeded.body,
      kind: 'person-sign',
      description: 'Signature certificate of tax bureau staff, one year',
      validityDays: 365,
    });
    expect(drafted.status, await drafted.clone().text()).toBe(201);
    const approved = await asAdmin(
      approver,
      'POST',
      '/v1/admin/templates/tax-bureau-staff/versions/1/approve',
    );
    expect(approved.status, await approved.clone().text()).toBe(200);

    const base = '11010519900303003';
    const residentId = `${base}${[...'0123456789X'].find((digit) => isResidentId(`${base}${digit}`))}`;
    await menu(clerk, '录入申请').click();
    const templates = clerk.locator('select[name=template] option');
    await templates.nth(1).waitFor({ state: 'attached' });
    expect(await templates.allTextContents()).toEqual([
      expect.stringMatching(/^person-sign · v1 · \d+ 天 \(默认\)$/),
      'tax-bureau-staff · v1 · 365 天',
    ]);
    await clerk.locator('select[name=template]').selectOption('tax-bureau-staff');
    await clerk.locator('input[name=commonName]').fill('郑十');
    await clerk.locator('input[name=residentId]').fill(residentId);
    await clerk.locator('textarea[name=csr]').fill(opensslHolderCsr(dir, 'zhengshi', '/C=CN/CN=郑十'));
    await clerk.getByRole('button', { name: '提交申请' }).click();
    const application = await clerk.getByTestId('application-id').textContent();

    const row = `tr[data-application="${application}"]`;
    await openQueue(reviewer, '审核');
    expect(await reviewer.locator(row).getByTestId('application-template').textContent()).toBe(
      '模板名称 tax-bureau-staff · v1',
    );
    await approve(reviewer, '审核', row);
    await openQueue(maker, '制证');
    await maker.locator(row).getByRole('button', { name: '签发' }).click();
    const serial = (await maker.getByTestId('serial').textContent())!;
    await openDetail(clerk, serial);
    expect(await clerk.getByTestId('detail-template').textContent()).toBe(
      ' · 模板名称 tax-bureau-staff · 模板版本 1',
    );
    expect(browser.pageErrors).toEqual([]);
  }, 240_000);
});
