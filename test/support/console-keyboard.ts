import type { Page } from 'playwright-core';
import { expect } from 'vitest';
import type { LoginOperator } from './login-operator.ts';

/**
 * What has the focus: whether it matches `selector`, whether the focus is drawn (a :focus-visible
 * outline), and whether it is named for a screen reader (a tied label, aria-label, or its text).
 */
function focused(
  page: Page,
  selector: string,
): Promise<{ matches: boolean; visible: boolean; named: boolean; name: string }> {
  // A string, not a function: the tests compile without the DOM library.
  return page.evaluate(`(() => {
    const element = document.activeElement;
    if (!element || element === document.body) return { matches: false, visible: false, named: false, name: '' };
    const style = getComputedStyle(element);
    const field = ['INPUT', 'SELECT', 'TEXTAREA'].includes(element.tagName);
    return {
      matches: element.matches(${JSON.stringify(selector)}),
      visible: element.matches(':focus-visible') && style.outlineStyle !== 'none' && style.outlineWidth !== '0px',
      named:
        (element.labels?.length ?? 0) > 0 ||
        Boolean(element.getAttribute('aria-label')) ||
        (!field && Boolean(element.textContent.trim())),
      name: element.getAttribute('name') ?? (element.textContent.trim().slice(0, 40) || element.tagName),
    };
  })()`);
}

/**
 * Presses Tab (Shift+Tab with `back`) until the element matching `selector` has the focus, as an
 * operator without a mouse does; every element passed on the way must show its focus and have a name.
 */
export async function tabTo(page: Page, selector: string, { back = false, limit = 80 } = {}): Promise<void> {
  for (let presses = 0; presses < limit; presses++) {
    await page.keyboard.press(back ? 'Shift+Tab' : 'Tab');
    const now = await focused(page, selector);
    if (now.visible === false && now.named === false && now.matches === false) continue;
    if (!now.visible) throw new Error(`focus on ${now.name} is not visible`);
    if (!now.named) throw new Error(`${now.name} has the focus but no label`);
    if (now.matches) return;
  }
  throw new Error(`${limit} presses of ${back ? 'Shift+Tab' : 'Tab'} never reached ${selector}`);
}

/** Tabs to a field and types into it; long text (a CSR) goes in as one input, as a paste does. */
export async function typeInto(page: Page, selector: string, text: string): Promise<void> {
  await tabTo(page, selector);
  if (text.length > 80) await page.keyboard.insertText(text);
  else await page.keyboard.type(text);
}

/** Tabs to a select and moves its choice with the arrow keys until it shows `value`. */
export async function chooseByKeyboard(page: Page, selector: string, value: string): Promise<void> {
  await tabTo(page, selector);
  for (let presses = 0; presses < 20; presses++) {
    if ((await page.locator(selector).inputValue()) === value) return;
    await page.keyboard.press('ArrowDown');
  }
  throw new Error(`${selector} never showed ${value}`);
}

/**
 * Opens a page of the main navigation afresh by Tab and Enter: backwards from inside the page, forwards
 * from before the link, and (from where the browser left the focus) forwards then back.
 */
export async function openByKeyboard(page: Page, path: string): Promise<void> {
  // A page already open does not load again from its own link: by way of the desk, it does.
  if (path !== '#/' && (await page.evaluate<boolean>(`location.hash === ${JSON.stringify(path)}`))) {
    await openByKeyboard(page, '#/');
  }
  const link = `nav a[href="${path}"]`;
  const before = await page.evaluate<boolean | null>(`(() => {
    const active = document.activeElement;
    const target = document.querySelector(${JSON.stringify(link)});
    if (!active || active === document.body || !target) return null;
    return Boolean(target.compareDocumentPosition(active) & Node.DOCUMENT_POSITION_FOLLOWING);
  })()`);
  if (before === null) {
    await tabTo(page, link).catch(() => tabTo(page, link, { back: true, limit: 120 }));
  } else {
    await tabTo(page, link, { back: before });
  }
  await page.keyboard.press('Enter');
  // Polled from the test: a predicate evaluated in the page is eval, which the console's CSP refuses.
  await expect
    .poll(() => page.evaluate<boolean>(`location.hash.startsWith(${JSON.stringify(path)})`), {
      timeout: 30_000,
    })
    .toBe(true);
}

/** Tabs to a file input, opens its chooser with Space and picks `path` there. */
export async function chooseFileByKeyboard(page: Page, selector: string, path: string): Promise<void> {
  // A page still rendering on a loaded machine may replace the input under the focus, and Space
  // then opens nothing: the operator would tab to it again, and so does the test, twice at most.
  for (let attempt = 1; ; attempt++) {
    if (attempt === 1) await tabTo(page, selector);
    else if (!(await focused(page, selector)).matches) {
      await tabTo(page, selector).catch(() => tabTo(page, selector, { back: true }));
    }
    const chooser = page.waitForEvent('filechooser', { timeout: 10_000 });
    await page.keyboard.press('Space');
    try {
      await (await chooser).setFiles(path);
      return;
    } catch (err) {
      if (attempt === 3) throw err;
    }
  }
}

/** The login form by keyboard alone: both files through their choosers, the TOTP code, Enter. */
export async function loginByKeyboard(page: Page, who: LoginOperator): Promise<void> {
  await chooseFileByKeyboard(page, 'input[name=certificate]', who.certificatePath);
  await chooseFileByKeyboard(page, 'input[name=key]', who.keyPath);
  await typeInto(page, 'input[name=totp]', who.totp.generate());
  await page.keyboard.press('Enter');
  await page.getByTestId('operator-name').waitFor();
}

/** Tabs to a button and presses it with Enter, or with Space when told. */
export async function pressButton(
  page: Page,
  selector: string,
  key: 'Enter' | 'Space' = 'Enter',
): Promise<void> {
  await tabTo(page, selector);
  await page.keyboard.press(key);
}
