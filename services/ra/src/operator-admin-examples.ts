/** Examples of the operator admin API for its OpenAPI document. */
export const operatorExample = {
  id: '12',
  name: 'Li Na',
  identity: 'staff-20260117',
  roles: ['entry_clerk' as const, 'certificate_maker' as const],
  createdAt: '2026-01-17T09:30:00.000Z',
  disabledAt: null,
};

export const newOperatorExample = {
  name: 'Li Na',
  identity: 'staff-20260117',
  roles: ['entry_clerk' as const, 'certificate_maker' as const],
};

export const credentialExample = 'sm2op_q3Zr8Yb0c1d2e3f4g5h6i7j8k9l0m1n2o3p4q5r6s7t';

export const roleChangeRequestExample = { roles: ['reviewer' as const] };

export const roleChangeExample = {
  id: '4',
  operatorId: '12',
  roles: ['reviewer' as const],
  status: 'pending' as const,
  requestedBy: '1',
  requestedAt: '2026-02-03T10:00:00.000Z',
  decidedBy: null,
  decidedAt: null,
};
