/** Key recovery and judicial recovery as the OpenAPI document shows them; long base64 cut short. */

export { reviewExample } from './api-examples.ts';

const encryption = { issuerId: 'sub', serial: '5d2c1e0f9a8b7c6d5e4f3a2b1c0d9e8f' };
const signature = { issuerId: 'sub', serial: '047486ac30b0188b29c85a61320b67cb' };

const identityCheck = {
  requester: 'holder' as const,
  document: { documentType: 'resident_id_card' as const, documentNumber: '11010519491231002X' },
  method: 'original card read by the ID card reader, photo compared in person',
};

export const keyRecoveryRequestExample = { ...encryption, identityCheck };

export const keyRecoveryExample = {
  id: '1',
  status: 'released' as const,
  ...encryption,
  holderKey: 'resident-id:11010519491231002X',
  identityCheck,
  enteredBy: 'Li Lu',
  enteredAt: '2026-12-02T10:49:00.693Z',
  reviewedBy: 'Wang Shen',
  decidedAt: '2026-12-02T10:52:13.104Z',
  reviewReason: null,
  recipient: signature,
  releasedAt: '2026-12-02T10:52:13.311Z',
  failure: null,
  downloadedAt: null,
};

export const downloadCodeExample = {
  reference: '318864220571',
  code: 'K7QM-3XWP-HR9T-2CEV',
  expiresAt: '2026-12-09T10:52:13.311Z',
};

export const releasedKeyRecoveryExample = { ...keyRecoveryExample, download: downloadCodeExample };

export const keyRecoveryDownloadExample = { reference: '318864220571', code: 'K7QM-3XWP-HR9T-2CEV' };

export const releasedKeyExample = {
  recoveryId: '1',
  ...encryption,
  encryptionCertificate: 'MIICMjCCAdigAwIBAgIQXSweD5qLfG1eTzorHA2ejzAKBggqgRzPVQGDdTA/...',
  publicKey: 'MFkwEwYHKoZIzj0CAQYIKoEcz1UBgi0DQgAE0c4wF4kVnH2...',
  envelopedKey: 'MIH4MAwGCCqBHM9VAWgBBQAweQIgV6r1n8mYl...',
  recipient: signature,
};

const authorisation = {
  documentReference: '(2026)京0105刑初1234号',
  court: '北京市朝阳区人民法院',
  officerName: '赵明',
  officerDocument: { documentType: 'resident_id_card' as const, documentNumber: '110105198001010016' },
};

const officerCertificate = { issuerId: 'sub', serial: '7be2c4a91d0f3e5b6a7c8d9e0f1a2b3c' };

export const judicialRequestExample = { ...encryption, authorisation, officerCertificate };

export const judicialRecoveryExample = {
  id: '1',
  status: 'released' as const,
  ...encryption,
  authorisation,
  officerCertificate,
  enteredBy: 'Zhao Ming',
  enteredAt: '2026-12-02T09:30:00.000Z',
  decisions: [
    {
      by: 'Sun Qi',
      decision: 'approve' as const,
      reason: null,
      at: '2026-12-02T10:02:41.517Z',
      expired: false,
    },
    {
      by: 'Zhou Yan',
      decision: 'approve' as const,
      reason: null,
      at: '2026-12-02T11:15:09.228Z',
      expired: false,
    },
  ],
  approvalsNeeded: 2,
  decidedAt: '2026-12-02T11:15:09.228Z',
  releasedAt: '2026-12-02T11:15:09.402Z',
  failure: null,
  downloadedAt: null,
};
