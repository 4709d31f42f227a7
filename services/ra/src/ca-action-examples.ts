import type { CaActionRequest } from './ca-action-requests.ts';
import type { CaActionView } from './ca-action-view.ts';

const digest = '5f1c0a3e9d2b7c4e8a6f1d3b5c7e9a0b2d4f6a8c0e1b3d5f7a9c2e4b6d8f0a1c';

export const caActionRequestExample: CaActionRequest = {
  kind: 'revoke_hierarchy_certificate',
  parameters: { issuer: 'ocsp-sub-1', reason: 'cACompromise' },
};

export const caActionDecisionExample = { digest, reason: 'checked the serial against the ceremony record' };

export const caActionExample: CaActionView = {
  id: '7',
  kind: 'revoke_hierarchy_certificate',
  parameters: { issuer: 'ocsp-sub-1', serial: '6a1f93c2d84b0e57', reason: 'cACompromise' },
  digest,
  state: 'executed',
  requestedBy: 'admin-wang',
  requestedAt: '2026-12-03T08:10:00.000Z',
  approvalsRequired: 2,
  expiresAt: '2026-12-04T08:10:00.000Z',
  decisions: [
    { by: 'admin-li', decision: 'approve', reason: null, decidedAt: '2026-12-03T08:20:00.000Z' },
    { by: 'admin-zhao', decision: 'approve', reason: null, decidedAt: '2026-12-03T08:25:00.000Z' },
  ],
  decidedAt: '2026-12-03T08:25:00.000Z',
  executedAt: '2026-12-03T08:25:01.000Z',
  result: {
    issuer: 'ocsp-sub-1',
    issuerId: 'sub',
    serial: '6a1f93c2d84b0e57',
    reason: 'cACompromise',
    revokedAt: '2026-12-03T08:25:01.000Z',
  },
};
