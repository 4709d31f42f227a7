import { rmSync } from 'node:fs';
import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consoleLogin, consolePage, fillLogin, launchChromium, menu } from '../support/console-browser.ts';
import { pressButton, tabTo, typeInto } from '../support/console-keyboard.ts';
import { type LoginOperator, loginOperator } from '../support/login-operator.ts';
import { opensslHolderCsr, tempDir } from '../support/openssl-cli.ts';
import { opensslEncryptedKey } from '../support/openssl-encrypted-key.ts';
import { type RaOperators, raOperators } from '../support/ra-client.ts';
import { screenshotDifference } from '../support/screenshot-match.ts';
import { type Stack, startStack } from '../support/sm2ca-stack.ts';
import { createTestDatabase } from '../support/test-database.ts';

const kept = (name: string) => new URL(`./screenshots/${name}.png`, import.meta.url).pathname;
const viewports = [
  { width: 1366, height: 768 },
  { width: 1920, height: 1080 },
];

/**
 * The administrators' console in Chromium: a super admin logs in with a passphrase-encrypted key,
 * adds an operator (by keyboard alone) and asks for a role change that a second super admin
 * approves; CA actions, operator certificates and a freeze of one's own login certificate are
 * decided on "waiting for me", one's own requests marked before any click; a template version one
 * business admin drafts, another approves. Then the main pages against kept screenshots at two screen sizes (UPDATE_SCREENSHOTS=1
 * keeps new ones), with what moves with the clock masked.
 */
describe('administrators and the dashboard in the console', () => {
  let stack: Stack;
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let browser: Browser;
  let operators: RaOperators;
  const dir = tempDir('e2e-console-admin-');
  const staff: Record<'qian' | 'feng' | 'chen' | 'ma' | 'wang' | 'zhao' | 'zhou', LoginOperator> =
    {} as never;
  const pageErrors: string[] = [];
  // A TOTP code admits once: each operator logs in once and the screenshot test reuses the page.
  const pages: Partial<Record<keyof typeof staff, Page>> = {};
  const admin = () => ({ authorization: `Bearer ${stack.superAdmin}`, 'content-type': 'application/json' });

  beforeAll(async () => {
    db = await createTestDatabase();
    stack = await startStack(db.url, {}, ['ca', 'ra']);
    operators = await raOperators(stack);
    staff.qian = await loginOperator(stack, operators, dir, 'qian', ['super_admin']);
    staff.feng = await loginOperator(stack, operators, dir, 'feng', ['super_admin']);
    staff.chen = await loginOperator(stack, operators, dir, 'chen', ['business_admin']);
    staff.ma = await loginOperator(stack, operators, dir, 'ma', ['business_admin']);
    staff.wang = await loginOperator(stack, operators, dir, 'wang', ['entry_clerk']);
    staff.zhao = await loginOperator(stack, operators, dir, 'zhao', ['reviewer']);
    staff.zhou = await loginOperator(stack, operators, dir, 'zhou', ['auditor']);
    // One application in the review queue, with fixed names for the screenshots.
    const entered = await operators.ra('POST', '/v1/applications', 'clerk', {
      holderType: 'person',
      profile: 'person-sign',
      holder: { commonName: '张三', identity: { residentId: '11010519491231002X' } },
      csr: opensslHolderCsr(dir, 'zhangsan', '/C=CN/CN=张三'),
      publishConsent: false,
    });
    expect(entered.status, entered.text).toBe(201);
    browser = await launchChromium();
  }, 360_000);
  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function operatorId(name: string): Promise<string> {
    const listed = await fetch(`${stack.url.ra}/v1/admin/operators`, { headers: admin() });
    const { items } = (await listed.json()) as { items: Array<{ id: string; name: string }> };
    return items.find((o) => o.name === name)!.id;
  }

  it('opens an encrypted key only with its passphrase, in the page', async () => {
    const encrypted = opensslEncryptedKey(dir, staff.qian.keyPath, '钱的口令 2026', 'sm3');
    const page = await consolePage(browser, stack.url.ra, pageErrors, 'qian');
    const sent: string[] = [];
    page.on('request', (request) => sent.push(request.postData() ?? ''));
    await fillLogin(page, staff.qian, { path: encrypted });
    expect(await page.getByRole('alert').textContent()).toContain('该私钥文件已加密，请输入其口令');
    await fillLogin(page, staff.qian, { path: encrypted, passphrase: 'wrong' });
    await page.getByText('口令不能打开该私钥文件').waitFor();
    // Nothing reached the RA yet: the login code is still unspent, and neither key nor passphrase ever does.
    expect(sent.filter((body) => body !== '')).toEqual([]);
    await fillLogin(page, staff.qian, { path: encrypted, passphrase: '钱的口令 2026' });
    await page.getByTestId('operator-name').waitFor();
    expect(sent.some((body) => body.includes('钱的口令') || body.includes('PRIVATE KEY'))).toBe(false);
    pages.qian = page;
  }, 120_000);

  it('adds an operator, changes roles under two administrators, decides CA actions and operator certificates', async () => {
    const qian = pages.qian!;
    // The dashboard is the first page: a super admin sees what waits for administrators.
    await qian.getByRole('heading', { name: '待审批' }).waitFor();

    // The add form by keyboard alone: Tab to each field, Space ticks the role, Enter adds.
    await menu(qian, '操作员管理').click();
    await typeInto(qian, 'input[name=name]', 'li');
    await typeInto(qian, 'input[name=identity]', 'staff-li');
    await tabTo(qian, 'input[name=roles][value=entry_clerk]');
    await qian.keyboard.press('Space');
    await pressButton(qian, 'form button[type=submit]');
    expect(await qian.getByTestId('credential').textContent()).toMatch(/^sm2op_/);
    const li = qian.locator('tr[data-operator="li"]');
    await li.getByRole('button', { name: '申请变更角色' }).click();
    await li.getByRole('checkbox', { name: '录入员' }).uncheck();
    await li.getByRole('checkbox', { name: '审核员' }).check();
    await li.getByRole('button', { name: '提交申请' }).click();
    await li.getByText('角色变更已提交').waitFor();

    // The requester sees the change as theirs, with nothing to click.
    await menu(qian, '待我审批').click();
    const ownChange = qian.locator('tr[data-role-change]');
    await ownChange.getByText('由您提出，须由其他管理员审批').waitFor();
    expect(await ownChange.getByRole('button', { name: '批准' }).count()).toBe(0);

    // A CA action the stack's first super admin asked for; qian approves its digest, once.
    const asked = await fetch(`${stack.url.ra}/v1/admin/ca-actions`, {
      method: 'POST',
      headers: admin(),
      body: JSON.stringify({ kind: 'rotate_ra_key', parameters: {} }),
    });
    expect(asked.status).toBe(201);
    const action = ((await asked.json()) as { id: string }).id;
    await menu(qian, '首页').click();
    await menu(qian, '待我审批').click();
    const actionRow = qian.locator(`tr[data-ca-action="${action}"]`);
    await actionRow.getByRole('button', { name: '批准' }).click();
    await actionRow.getByText('您已审批过此项').waitFor();
    expect(await actionRow.textContent()).toContain('1 / 2');

    // An operator certificate for li, entered by the clerk: a super admin decides it here.
    const liId = await operatorId('li');
    const certificate = await operators.ra('POST', '/v1/applications', 'clerk', {
      holderType: 'person',
      profile: 'operator-sign',
      operatorId: liId,
      holder: { commonName: 'li', identity: { passportNumber: 'E10000001' } },
      csr: opensslHolderCsr(dir, 'li', '/C=CN/CN=li'),
      publishConsent: false,
    });
    expect(certificate.status, certificate.text).toBe(201);
    const application = certificate.json().id as string;

    const feng = await consoleLogin(browser, stack.url.ra, staff.feng, pageErrors);
    pages.feng = feng;
    await menu(feng, '待我审批').click();
    const change = feng.locator('tr[data-role-change]');
    await change.getByRole('button', { name: '批准' }).click();
    await change.waitFor({ state: 'detached' });
    const liCertificate = feng.locator(`tr[data-operator-application="${application}"]`);
    await liCertificate.getByRole('button', { name: '批准' }).click();
    await liCertificate.waitFor({ state: 'detached' });

    await menu(feng, '操作员管理').click();
    const liRow = feng.locator('tr[data-operator="li"]');
    await liRow.getByText('审核员').waitFor();
    await liRow.getByRole('button', { name: '停用' }).click();
    await liRow.getByTestId('operator-status').getByText('已停用').waitFor();

    // A freeze of qian's own login certificate, entered by the clerk: qian sees it as theirs, and
    // feng rejects it by keyboard with a reason.
    const qianCertificates = await fetch(
      `${stack.url.ra}/v1/admin/operator-certificates?operatorId=${await operatorId('qian')}`,
      { headers: admin() },
    );
    const [qianCertificate] = (
      (await qianCertificates.json()) as { items: Array<{ issuerId: string; serial: string }> }
    ).items;
    const freeze = await operators.ra('POST', '/v1/freezes', 'clerk', {
      issuerId: qianCertificate!.issuerId,
      serial: qianCertificate!.serial,
      requestedBy: '钱本人',
    });
    expect(freeze.status, freeze.text).toBe(201);
    const freezeRow = `tr[data-operator-revocation="${freeze.json().id}"]`;
    await menu(qian, '首页').click();
    await menu(qian, '待我审批').click();
    await qian.locator(freezeRow).getByText('由您提出，须由其他管理员审批').waitFor();
    expect(await qian.locator(freezeRow).getByRole('button').count()).toBe(0);
    await menu(feng, '首页').click();
    await menu(feng, '待我审批').click();
    expect(await feng.locator(freezeRow).textContent()).toContain('冻结');
    await typeInto(feng, `${freezeRow} input`, '本人未提出');
    await pressButton(feng, `${freezeRow} button.secondary`);
    await feng.locator(freezeRow).waitFor({ state: 'detached' });
    const rejected = await operators.ra('GET', `/v1/revocations/${freeze.json().id}`, 'clerk');
    expect(rejected.json()).toMatchObject({
      status: 'rejected',
      reviewedBy: 'feng',
      reviewReason: '本人未提出',
    });

    const decided = await fetch(`${stack.url.ra}/v1/admin/ca-actions/${action}`, { headers: admin() });
    expect(
      ((await decided.json()) as { decisions: Array<{ by: string }> }).decisions.map((d) => d.by),
    ).toEqual(['qian']);
    expect(pageErrors).toEqual([]);
  });

  it('has a template version drafted by one business admin approved by another, the drafter told it is theirs', async () => {
    const chen = await consoleLogin(browser, stack.url.ra, staff.chen, pageErrors);
    pages.chen = chen;
    const ma = await consoleLogin(browser, stack.url.ra, staff.ma, pageErrors);
    // chen drafts through the RA's API with the console session, as a script of chen's would.
    const session = await chen.evaluate<string>(`sessionStorage.getItem('sm2ca.session')`);
    const asChen = { authorization: `Bearer ${session}`, 'content-type': 'application/json' };
    const current = await fetch(`${stack.url.ra}/v1/admin/templates/device-sign/versions/1`, {
      headers: asChen,
    });
    const { body } = (await current.json()) as { body: Record<string, unknown> };
    const drafted = await fetch(`${stack.url.ra}/v1/admin/templates/device-sign/versions`, {
      method: 'POST',
      headers: asChen,
      body: JSON.stringify({ ...body, description: 'Device signature certificate, reviewed 2026' }),
    });
    expect(drafted.status, await drafted.clone().text()).toBe(201);
    const { version } = (await drafted.json()) as { version: number };
    const row = `tr[data-template="device-sign/${version}"]`;

    await menu(chen, '待我审批').click();
    await chen.locator(row).getByText('由您提出，须由其他管理员审批').waitFor();
    expect(await chen.locator(row).getByRole('button').count()).toBe(0);
    await menu(ma, '待我审批').click();
    await pressButton(ma, `${row} .actions button:not(.secondary)`);
    await ma.locator(row).waitFor({ state: 'detached' });
    const approved = await fetch(`${stack.url.ra}/v1/admin/templates/device-sign/versions/${version}`, {
      headers: asChen,
    });
    expect(await approved.json()).toMatchObject({ status: 'approved', draftedBy: 'chen', decidedBy: 'ma' });
    expect(pageErrors).toEqual([]);
  }, 120_000);

  it('shows each role its dashboard and pages as the kept screenshots, at 1366×768 and 1920×1080', async () => {
    pages.wang = await consoleLogin(browser, stack.url.ra, staff.wang, pageErrors);
    pages.zhao = await consoleLogin(browser, stack.url.ra, staff.zhao, pageErrors);
    pages.zhou = await consoleLogin(browser, stack.url.ra, staff.zhou, pageErrors);
    const login = await consolePage(browser, stack.url.ra, pageErrors);
    // Polled from here: a predicate run in the page is eval, which the console's CSP refuses.
    const loaded = (page: Page) =>
      expect
        .poll(
          async () =>
            (await page.locator('[data-figure]').allTextContents()).includes('…') ||
            (await page.locator('body').textContent())!.includes('加载中'),
        )
        .toBe(false);
    const shots: Array<{
      name: string;
      page: Page;
      open: () => Promise<unknown>;
      mask: (page: Page) => Locator[];
    }> = [
      { name: 'login', page: login, open: () => login.locator('input[name=totp]').waitFor(), mask: () => [] },
      {
        name: 'dashboard',
        page: pages.chen!,
        open: async () => {
          await menu(pages.chen!, '首页').click();
          await pages.chen!.getByRole('heading', { name: '各签发者 CRL 时效' }).waitFor();
          await loaded(pages.chen!);
        },
        // Counts due within a day and today's availability move with the clock.
        mask: (page) => [
          page.locator('[data-figure="dashDueSoon"]'),
          page.locator('[data-service], [data-crl]'),
        ],
      },
      {
        name: 'entry',
        page: pages.wang,
        open: () => menu(pages.wang!, '录入申请').click(),
        mask: () => [],
      },
      {
        name: 'review',
        page: pages.zhao,
        open: async () => {
          await menu(pages.zhao!, '审核').click();
          await pages.zhao!.locator('tr[data-application]').first().waitFor();
        },
        mask: (page) => [page.locator('tr[data-application] td:nth-child(5)')],
      },
      {
        name: 'rekey',
        page: pages.wang,
        open: () => menu(pages.wang!, '密钥泄露更新').click(),
        mask: () => [],
      },
      {
        name: 'certificates',
        page: pages.wang,
        open: () => menu(pages.wang!, '证书查询').click(),
        mask: () => [],
      },
      {
        name: 'audit',
        page: pages.zhou,
        open: () => menu(pages.zhou!, '审计查询').click(),
        mask: () => [],
      },
      {
        name: 'operators',
        page: pages.qian!,
        open: async () => {
          await menu(pages.qian!, '操作员管理').click();
          await pages.qian!.locator('tr[data-operator="li"]').waitFor();
        },
        mask: () => [],
      },
    ];
    const differences: Record<string, number> = {};
    for (const viewport of viewports) {
      for (const shot of shots) {
        await shot.page.setViewportSize(viewport);
        await shot.open();
        const png = await shot.page.screenshot({ mask: shot.mask(shot.page), animations: 'disabled' });
        differences[`${shot.name}-${viewport.width}`] = screenshotDifference(
          png,
          kept(`${shot.name}-${viewport.width}x${viewport.height}`),
        );
      }
    }
    for (const [name, difference] of Object.entries(differences)) expect(difference, name).toBeLessThan(0.02);
    expect(pageErrors).toEqual([]);
  }, 240_000);
});
