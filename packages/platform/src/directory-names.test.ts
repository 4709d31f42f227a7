import { encodeName } from '@sm2ca/pki';
import { describe, expect, it } from 'vitest';
import { caEntry, formatDn, holderEntry, ldapAttributeUrl, parseDn } from './directory-names.ts';

const subject = encodeName([
  { type: 'C', value: 'CN' },
  { type: 'O', value: '国家部委' },
  { type: 'OU', value: 'IT, Ops' },
  { type: 'CN', value: '张三' },
]);

describe('directory names', () => {
  it('places a holder under the base by the part of the subject the base does not name', () => {
    const layout = { baseDn: 'c=CN', holderEntry: 'subject' as const };
    expect(formatDn(holderEntry(subject, layout))).toBe('cn=张三,ou=IT\\, Ops,o=国家部委,c=CN');
  });

  it('shares no more of the name than the base has in common with it', () => {
    const layout = { baseDn: 'o=SM2CA, c=CN', holderEntry: 'subject' as const };
    expect(formatDn(holderEntry(subject, layout))).toBe('cn=张三,ou=IT\\, Ops,o=国家部委,o=SM2CA,c=CN');
    const same = encodeName([
      { type: 'C', value: 'CN' },
      { type: 'O', value: 'sm2ca' },
      { type: 'CN', value: 'Sub CA' },
    ]);
    expect(formatDn(caEntry(same, layout))).toBe('cn=Sub CA,o=SM2CA,c=CN');
  });

  it('puts every holder directly under the base by its common name when so configured', () => {
    const layout = { baseDn: 'ou=holders,o=SM2CA,c=CN', holderEntry: 'commonName' as const };
    expect(formatDn(holderEntry(subject, layout))).toBe('cn=张三,ou=holders,o=SM2CA,c=CN');
  });

  it('escapes what RFC 4514 reserves and reads it back', () => {
    const rdns = [
      { type: 'cn', value: ' #a+b="c";<d>\\ ' },
      { type: 'c', value: 'CN' },
    ];
    const dn = formatDn(rdns);
    expect(dn).toBe('cn=\\ #a\\+b\\=\\"c\\"\\;\\<d\\>\\\\\\ ,c=CN');
    expect(parseDn('cn=a\\2Cb\\,c, c=CN')).toEqual([
      { type: 'cn', value: 'a,b,c' },
      { type: 'c', value: 'CN' },
    ]);
  });

  it('writes an ldap:// URL of a CA entry attribute', () => {
    const entry = parseDn('cn=SM2CA Sub CA,o=SM2CA,c=CN');
    expect(ldapAttributeUrl('ldap://ldap.example.cn:389/', entry, 'certificateRevocationList;binary')).toBe(
      'ldap://ldap.example.cn:389/cn=SM2CA%20Sub%20CA,o=SM2CA,c=CN?certificateRevocationList;binary',
    );
  });
});
