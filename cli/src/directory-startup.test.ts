import { loadConfig } from '@sm2ca/platform';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { directoryChoice, startDirectory } from './directory-startup.ts';

describe('sm2ca start: which directory', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('uses SM2CA_LDAP_URL when set, else a local slapd when installed, else none', () => {
    expect(directoryChoice(loadConfig({ SM2CA_LDAP_URL: 'ldap://ldap.internal' }), '/nonexistent')).toBe(
      'configured',
    );
    expect(directoryChoice(loadConfig({}), process.execPath)).toBe('local');
    expect(directoryChoice(loadConfig({}), '/nonexistent/slapd')).toBe('off');
  });

  it('says in one line that publication is off', async () => {
    const lines: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
      lines.push(String(chunk));
      return true;
    });
    const running = await startDirectory(loadConfig({}), 'off');
    expect(lines).toEqual([
      '• directory publication off: set SM2CA_LDAP_URL or install slapd (apt-get install slapd ldap-utils)\n',
    ]);
    expect(running.env).toEqual({});
  });
});
