import type { Lang } from './i18n.ts';

export const roleNames: Record<Lang, Record<string, string>> = {
  zh: {
    super_admin: '超级管理员',
    business_admin: '业务管理员',
    audit_admin: '审计管理员',
    entry_clerk: '录入员',
    reviewer: '审核员',
    certificate_maker: '制证员',
    auditor: '审计员',
    key_administrator: '密钥管理员',
    judicial_officer: '司法取证人员',
  },
  en: {
    super_admin: 'Super administrator',
    business_admin: 'Business administrator',
    audit_admin: 'Audit administrator',
    entry_clerk: 'Entry clerk',
    reviewer: 'Reviewer',
    certificate_maker: 'Certificate maker',
    auditor: 'Auditor',
    key_administrator: 'Key administrator',
    judicial_officer: 'Judicial officer',
  },
};
