import { isOrganizationCode, isResidentId, isUnifiedSocialCreditCode } from '@sm2ca/pki';
import { describe, expect, it } from 'vitest';
import { vetHolder } from './holder-identity.ts';

const refusal = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return err as { code: string; status: number; details?: Record<string, unknown> };
  }
  throw new Error('expected a refusal');
};

describe('check digits', () => {
  it('accepts GB 11643 resident IDs with a real birth date and the right check digit only', () => {
    expect(isResidentId('11010519491231002X')).toBe(true);
    expect(isResidentId('110105194912310021')).toBe(false);
    expect(isResidentId('11010519491331002X')).toBe(false);
    expect(isResidentId('11010519490229002X')).toBe(false);
    expect(isResidentId('1101051949123100X')).toBe(false);
  });

  it('accepts GB 32100 unified social credit codes with the right check character only', () => {
    expect(isUnifiedSocialCreditCode('91350100M000100Y43')).toBe(true);
    expect(isUnifiedSocialCreditCode('91350100M000100Y42')).toBe(false);
    expect(isUnifiedSocialCreditCode('91350100M000I00Y43')).toBe(false);
    expect(isUnifiedSocialCreditCode('91350100M000100Y4')).toBe(false);
  });

  it('accepts GB 11714 organisation codes with or without the dash', () => {
    expect(isOrganizationCode('D2143569-X')).toBe(true);
    expect(isOrganizationCode('D2143569X')).toBe(true);
    expect(isOrganizationCode('12345678-8')).toBe(true);
    expect(isOrganizationCode('12345678-9')).toBe(false);
    expect(isOrganizationCode('d2143569-X')).toBe(false);
  });
});

describe('vetHolder', () => {
  it('turns a person into a subject, an identify code and a holder key', () => {
    const vetted = vetHolder('person', 'person-sign', {
      commonName: ' 张三 ',
      email: 'zhang.san@example.cn',
      identity: { residentId: '11010519491231002x', insuranceNumber: '11010519491231002X' },
    });
    expect(vetted.holderKey).toBe('resident-id:11010519491231002X');
    expect(vetted.instruction).toEqual({
      subject: [
        { type: 'C', value: 'CN' },
        { type: 'CN', value: '张三' },
      ],
      identity: { residentId: '11010519491231002X', insuranceNumber: '11010519491231002X' },
      subjectAltNames: { email: ['zhang.san@example.cn'] },
    });
  });

  it('keys an organisation by its credit code and normalises organisation codes', () => {
    const vetted = vetHolder('organisation', 'organization-sign', {
      commonName: '福州市某局',
      organization: '福州市人民政府',
      province: '福建',
      identity: { organizationCode: 'D2143569-X', unifiedSocialCreditCode: '91350100M000100Y43' },
    });
    expect(vetted.holderKey).toBe('uscc:91350100M000100Y43');
    expect(vetted.instruction.identity?.organizationCode).toBe('D2143569X');
    expect(vetted.instruction.subject.map((a) => a.type)).toEqual(['C', 'ST', 'O', 'CN']);
  });

  it('needs alternative names for TLS servers and keys devices by name', () => {
    const device = { commonName: 'Gateway.example.cn', organization: 'Example' };
    expect(refusal(() => vetHolder('device', 'tls-server', device)).code).toBe('HOLDER_FIELD_REQUIRED');
    const vetted = vetHolder('device', 'tls-server', { ...device, dnsNames: ['Gateway.Example.cn'] });
    expect(vetted.holderKey).toBe('device:gateway.example.cn');
    expect(vetted.instruction.subjectAltNames).toEqual({ dns: ['gateway.example.cn'] });
    expect(
      refusal(() => vetHolder('device', 'device-sign', { ...device, ipAddresses: ['10.0.0.300'] })).code,
    ).toBe('HOLDER_FIELD_INVALID');
  });

  it('refuses profiles, identities and fields that do not fit the holder', () => {
    const person = { commonName: 'Li Si', identity: { residentId: '11010519491231002X' } };
    expect(refusal(() => vetHolder('person', 'sub-ca', person))).toMatchObject({
      code: 'PROFILE_NOT_FOR_HOLDER',
      status: 400,
    });
    expect(refusal(() => vetHolder('person', 'person-sign', { commonName: 'Li Si' })).code).toBe(
      'IDENTITY_REQUIRED',
    );
    expect(
      refusal(() =>
        vetHolder('person', 'person-sign', {
          commonName: 'Li Si',
          identity: { residentId: '110105194912310021' },
        }),
      ),
    ).toMatchObject({ code: 'IDENTITY_INVALID', details: { field: 'residentId' } });
    expect(
      refusal(() =>
        vetHolder('person', 'person-sign', {
          commonName: 'Li Si',
          identity: { residentId: '11010519491231002X', passportNumber: 'E12345678' },
        }),
      ).code,
    ).toBe('IDENTITY_INVALID');
    expect(
      refusal(() =>
        vetHolder('person', 'person-sign', {
          ...person,
          identity: { ...person.identity, taxationNumber: '91350100M000100Y43' },
        }),
      ),
    ).toMatchObject({ code: 'IDENTITY_NOT_ALLOWED', details: { field: 'taxationNumber' } });
    expect(
      refusal(() => vetHolder('organisation', 'organization-sign', { commonName: 'X', identity: {} })).code,
    ).toBe('IDENTITY_REQUIRED');
    expect(
      refusal(() =>
        vetHolder('organisation', 'organization-sign', {
          commonName: 'X',
          identity: { unifiedSocialCreditCode: '91350100M000100Y43' },
        }),
      ),
    ).toMatchObject({ code: 'HOLDER_FIELD_REQUIRED', details: { attribute: 'O' } });
    expect(refusal(() => vetHolder('person', 'person-sign', { ...person, commonName: '  ' })).code).toBe(
      'HOLDER_FIELD_INVALID',
    );
  });
});
