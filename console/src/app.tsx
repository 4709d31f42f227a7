import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { api, session, whenSessionLost } from './api.ts';
import { ApprovalsPage } from './approvals-page.tsx';
import { AuditPage } from './audit-page.tsx';
import { CertificateDetailPage } from './certificate-detail-page.tsx';
import { CertificateSearchPage } from './certificate-search-page.tsx';
import { DashboardPage } from './dashboard-page.tsx';
import { EntryPage } from './entry-page.tsx';
import { useHashRoute } from './hash-route.ts';
import { HoldPage } from './hold-page.tsx';
import { type Lang, LangContext, type MessageKey, messages, type Translator } from './i18n.ts';
import { IssuePage } from './issue-page.tsx';
import { KeyRecoveryPage } from './key-recovery-page.tsx';
import { KeyRecoveryReviewPage } from './key-recovery-review-page.tsx';
import { LoginPage } from './login-page.tsx';
import type { Me } from './me.ts';
import { OperatorsPage } from './operators-page.tsx';
import { RekeyPage } from './rekey-page.tsx';
import { RenewalPage } from './renewal-page.tsx';
import { ReviewPage } from './review-page.tsx';
import { RevocationPage } from './revocation-page.tsx';
import { RevocationReviewPage } from './revocation-review-page.tsx';

/** Each page and the roles it is for; the RA still checks every call, this only hides what would be refused. */
const businessOperators = ['entry_clerk', 'reviewer', 'certificate_maker'];
const pages: Array<{ path: string; label: MessageKey; roles: string[]; hidden?: boolean }> = [
  { path: '#/enter', label: 'navEnter', roles: ['entry_clerk'] },
  { path: '#/review', label: 'navReview', roles: ['reviewer'] },
  { path: '#/issue', label: 'navIssue', roles: ['certificate_maker'] },
  { path: '#/revoke', label: 'navRevoke', roles: ['entry_clerk'] },
  { path: '#/revocations', label: 'navRevocationReview', roles: ['reviewer'] },
  { path: '#/certificates', label: 'navCertificates', roles: businessOperators },
  { path: '#/audit', label: 'navAudit', roles: ['auditor'] },
  // Lifecycle: freeze, renewal, re-key, key recovery, and a certificate's detail (reached from the search).
  { path: '#/holds', label: 'navHolds', roles: ['entry_clerk'] },
  { path: '#/renew', label: 'navRenew', roles: ['entry_clerk'] },
  { path: '#/rekey', label: 'navRekey', roles: ['entry_clerk'] },
  { path: '#/key-recoveries', label: 'navKeyRecovery', roles: ['entry_clerk'] },
  { path: '#/key-recovery-review', label: 'navKeyRecoveryReview', roles: ['reviewer'] },
  { path: '#/certificate', label: 'certificateDetailHeading', roles: businessOperators, hidden: true },
  // Administration: operators and the decisions waiting for an administrator.
  { path: '#/operators', label: 'navOperators', roles: ['super_admin'] },
  { path: '#/approvals', label: 'navApprovals', roles: ['super_admin', 'business_admin'] },
];

const langKey = 'sm2ca.lang';

function Page({
  path,
  query,
  operator,
  canOpen,
}: {
  path: string;
  query: URLSearchParams;
  operator: Me;
  canOpen: (path: string) => boolean;
}) {
  const me = operator.name;
  switch (path) {
    case '#/enter':
      return <EntryPage />;
    case '#/review':
      return <ReviewPage me={me} />;
    case '#/issue':
      return <IssuePage />;
    case '#/revoke':
      return <RevocationPage query={query} />;
    case '#/revocations':
      return <RevocationReviewPage me={me} />;
    case '#/certificates':
      return <CertificateSearchPage />;
    case '#/holds':
      return <HoldPage query={query} />;
    case '#/renew':
      return <RenewalPage query={query} />;
    case '#/rekey':
      return <RekeyPage query={query} />;
    case '#/key-recoveries':
      return <KeyRecoveryPage query={query} />;
    case '#/key-recovery-review':
      return <KeyRecoveryReviewPage me={me} />;
    case '#/certificate':
      return <CertificateDetailPage query={query} canOpen={canOpen} />;
    case '#/operators':
      return <OperatorsPage me={operator} />;
    case '#/approvals':
      return <ApprovalsPage me={operator} />;
    default:
      return <AuditPage />;
  }
}

export function App() {
  const [lang, setLang] = useState<Lang>(localStorage.getItem(langKey) === 'en' ? 'en' : 'zh');
  const [operator, setOperator] = useState<Me | null>(null);
  const [checked, setChecked] = useState(false);
  const route = useHashRoute();
  const translator = useMemo<Translator>(
    () => ({
      lang,
      t: (key) => messages[lang][key],
      setLang: (next) => {
        localStorage.setItem(langKey, next);
        setLang(next);
      },
    }),
    [lang],
  );
  useEffect(() => {
    document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
    document.title = messages[lang].title;
  }, [lang]);

  // A page opened takes the focus to its heading: the next Tab is in the page, not back in the menu.
  const firstRoute = useRef(true);
  useEffect(() => {
    if (firstRoute.current) {
      firstRoute.current = false;
      return;
    }
    const heading = document.querySelector<HTMLElement>('main h1');
    if (!heading) return;
    heading.tabIndex = -1;
    heading.focus();
  }, [route.path, route.query.toString()]);

  const loadOperator = () =>
    (session.token()
      ? api<{ operator: Me }>('GET', '/v1/session').then((answer) => setOperator(answer.operator))
      : Promise.resolve()
    )
      .catch(() => setOperator(null))
      .finally(() => setChecked(true));
  useEffect(() => {
    whenSessionLost(() => setOperator(null));
    loadOperator();
  }, []);

  const logout = async () => {
    await api('POST', '/v1/logout').catch(() => {});
    session.clear();
    setOperator(null);
  };

  const { t } = translator;
  const mine = operator
    ? pages.filter((page) => page.roles.some((role) => operator.roles.includes(role)))
    : [];
  const current = mine.find((page) => page.path === route.path);
  const listed = mine.filter((page) => !page.hidden);
  return (
    <LangContext.Provider value={translator}>
      <header>
        <span class="brand">{t('title')}</span>
        <nav aria-label="main">
          {operator && <a href="#/">{t('navHome')}</a>}
          {listed.map((page) => (
            <a key={page.path} href={page.path} aria-current={page === current ? 'page' : undefined}>
              {t(page.label)}
            </a>
          ))}
        </nav>
        <span class="spacer" />
        {operator && (
          <span class="who">
            {t('loggedInAs')}: <strong data-testid="operator-name">{operator.name}</strong>
          </span>
        )}
        <button type="button" class="link" onClick={() => translator.setLang(lang === 'zh' ? 'en' : 'zh')}>
          {t('switchLang')}
        </button>
        {operator && (
          <button type="button" class="link" onClick={logout}>
            {t('logout')}
          </button>
        )}
      </header>
      {!checked ? null : !operator ? (
        <LoginPage onLogin={loadOperator} />
      ) : current ? (
        <Page
          path={current.path}
          query={route.query}
          operator={operator}
          canOpen={(path) => mine.some((page) => page.path === path)}
        />
      ) : (
        <DashboardPage me={operator} links={listed} />
      )}
    </LangContext.Provider>
  );
}
