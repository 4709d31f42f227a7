import { Client } from 'ldapts';
import { ProbeFailure } from './probe-failure.ts';

export interface DirectoryTarget {
  url: string;
  baseDn: string;
  bindDn?: string;
  password?: string;
}

/**
 * A relying party's look-up: a fresh connection (bound when the directory asks for it) that reads
 * the root DSE and finds the base among the naming contexts the server holds. The base entry
 * itself appears only once the publisher wrote something, so it is not what is probed.
 */
export async function probeDirectory(target: DirectoryTarget, timeoutMs: number): Promise<void> {
  const client = new Client({ url: target.url, timeout: timeoutMs, connectTimeout: timeoutMs });
  try {
    if (target.bindDn) await client.bind(target.bindDn, target.password ?? '');
    const { searchEntries } = await client.search('', {
      scope: 'base',
      filter: '(objectClass=*)',
      attributes: ['namingContexts'],
    });
    const contexts = [searchEntries[0]?.namingContexts ?? []].flat().map((dn) => String(dn).toLowerCase());
    if (!contexts.includes(target.baseDn.toLowerCase())) {
      throw new ProbeFailure('LDAP_BASE_MISSING', `the directory does not hold ${target.baseDn}`);
    }
  } catch (err) {
    if (err instanceof ProbeFailure) throw err;
    const code = (err as { code?: unknown }).code;
    throw new ProbeFailure(
      typeof code === 'number' ? `LDAP_RESULT_${code}` : 'LDAP_UNREACHABLE',
      (err as Error).message,
    );
  } finally {
    await client.unbind().catch(() => {});
  }
}
