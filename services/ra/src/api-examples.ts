/** One application's way through the RA, as the OpenAPI document shows it: values from a real run, long base64 cut short. */

const csr = `-----BEGIN CERTIFICATE REQUEST-----
MIHcMIGDAgEAMCExCzAJBgNVBAYTAkNOMRIwEAYDVQQDDAlaaGFuZyBTYW4wWTAT
BgcqhkjOPQIBBggqgRzPVQGCLQNCAAS4i9MzdUAEcsd2HvKAP5MEFJ7lVOo3JD0S
yKmnco2VJJzPscnoe9JJ9znioBxCiHTKfHG36lrLvjDWby17pH9xoAAwCgYIKoEc
z1UBg3UDSAAwRQIgBaRlTuejF8JxlTDdoJm6/x6YxI7YDlbDMAEeGb0kf5UCIQDp
wzkI74a2Oqcl4g9YPWLW47KgoJx97cCVUT4ZlA9B1g==
-----END CERTIFICATE REQUEST-----
`;

const holder = { commonName: '张三', identity: { residentId: '11010519491231002X' } };

export const reviewExample = { decision: 'approve' as const };

export const submitExample = {
  holderType: 'person' as const,
  profile: 'person-sign' as const,
  holder,
  csr,
  publishConsent: true,
  dual: true,
};

export const applicationExample = {
  id: '1',
  kind: 'new' as const,
  status: 'approved' as const,
  holderType: 'person' as const,
  holder: { ...holder, country: 'CN' },
  holderKey: 'resident-id:11010519491231002X',
  profile: 'person-sign',
  operatorId: null,
  template: 'person-sign',
  templateVersion: 1,
  dual: true,
  encryption: {
    profile: 'person-encrypt',
    template: 'person-encrypt',
    templateVersion: 1,
    issuerId: null,
    serial: null,
  },
  publishConsent: true,
  enteredBy: 'Li Lu',
  enteredAt: '2026-12-02T10:48:57.199Z',
  deadline: '2026-12-04T16:00:00.000Z',
  deadlineProvisional: false,
  overdue: false,
  reviewedBy: 'Wang Shen',
  reviewedAt: '2026-12-02T10:48:57.524Z',
  reviewReason: null,
  issuedBy: null,
  issuedAt: null,
  issuerId: null,
  serial: null,
  issueAttempts: 0,
  issueError: null,
  replaces: null,
  nextIssueAttemptAt: null,
};

export const downloadCodeExample = {
  reference: '664457376483',
  code: 'DNJD-BM6N-RYC4-5W4B',
  expiresAt: '2026-12-09T10:48:58.020Z',
};

export const issuedExample = {
  applicationId: '1',
  issuerId: 'sub',
  serial: '047486ac30b0188b29c85a61320b67cb',
  encryption: { serial: '5f1c0e7a9b2d4c3e8a6f0b1d2c3e4f50' },
  download: downloadCodeExample,
};

export const downloadExample = {
  reference: '664457376483',
  code: 'DNJD-BM6N-RYC4-5W4B',
  format: 'der' as const,
};

export const derDownloadExample = {
  issuerId: 'sub',
  serial: '047486ac30b0188b29c85a61320b67cb',
  certificate: 'MIICNjCCAdygAwIBAgIQBHSGrDCwGIspyFphMgtnyzAKBggqgRzPVQGDdTA/...',
  chain: ['MIIB9zCCAZ2gAwIBAgIQOo5OiA8jO8j...', 'MIIBwzCCAWmgAwIBAgIQLpXqo0LpO8...'],
  encryption: {
    serial: '5f1c0e7a9b2d4c3e8a6f0b1d2c3e4f50',
    certificate: 'MIICMzCCAdmgAwIBAgIQXxwOepstTD6KbwsdLD5PUDAKBggqgRzPVQGDdTA/...',
    envelopedKey: 'MIH1MAwGCCqBHM9VAWgBBQAweQIgV0rl...',
  },
  csrResponse: 'MIIFcjCCAjYwggHcoAMCAQICEAR0hqwwsBiL...',
};

export const pemDownloadExample = `-----BEGIN CERTIFICATE-----
MIICNjCCAdygAwIBAgIQBHSGrDCwGIspyFphMgtnyzAKBggqgRzPVQGDdTA/...
-----END CERTIFICATE-----
-----BEGIN CERTIFICATE-----
MIIB9zCCAZ2gAwIBAgIQOo5OiA8jO8j...
-----END CERTIFICATE-----
-----BEGIN CERTIFICATE-----
MIIBwzCCAWmgAwIBAgIQLpXqo0LpO8...
-----END CERTIFICATE-----
`;

export const revocationRequestExample = {
  issuerId: 'sub',
  serial: '047486ac30b0188b29c85a61320b67cb',
  reason: 'keyCompromise' as const,
  requestedBy: 'holder, in person',
  includeTwin: true,
};

const { includeTwin: _, ...revoked } = revocationRequestExample;

export const revocationExample = {
  id: '1',
  kind: 'revoke' as const,
  status: 'done' as const,
  ...revoked,
  applicationId: null,
  enteredBy: 'Li Lu',
  enteredAt: '2026-12-02T10:49:00.693Z',
  reviewedBy: 'Wang Shen',
  decidedAt: '2026-12-02T10:49:00.804Z',
  reviewReason: null,
  doneAt: '2026-12-02T10:49:00.861Z',
  twin: {
    issuerId: 'sub',
    serial: '5f1c0e7a9b2d4c3e8a6f0b1d2c3e4f50',
    included: true,
    doneAt: '2026-12-02T10:49:00.861Z',
  },
};

export const certificateExample = {
  issuerId: 'sub',
  serial: '047486ac30b0188b29c85a61320b67cb',
  status: 'revoked' as const,
  profile: 'person-sign',
  subject: 'C=CN, CN=张三',
  holderKey: 'resident-id:11010519491231002X',
  applicationId: '1',
  twinSerial: '5f1c0e7a9b2d4c3e8a6f0b1d2c3e4f50',
  expired: false,
  archive: null,
  replacedBy: null,
  notBefore: '2026-12-02T10:47:58.000Z',
  notAfter: '2027-12-02T10:47:58.000Z',
  issuedAt: '2026-12-02T10:48:58.003Z',
  revokedAt: '2026-12-02T10:49:00.817Z',
  revocationReason: 'keyCompromise',
};
