import { encodeSm2Spki } from '@sm2ca/gm';
import { describe, expect, it } from 'vitest';
import { type CertificateExtension, parseCertificate } from './certificate.ts';
import { assembleCertificate } from './certificate-issuer.ts';
import { validateChain } from './chain.ts';
import { basicConstraintsExtension, keyUsageExtension } from './extensions.ts';
import { encodeName } from './name.ts';
import { assembleTbsCertificate, randomSerialNumber } from './tbs-builder.ts';
import {
  issue,
  NOT_BEFORE,
  type TestCertificate,
  testHierarchy,
  testKey,
} from './test-support/test-hierarchy.ts';

async function unlinted(issuer: TestCertificate, extensions: CertificateExtension[], cn: string) {
  const key = testKey();
  const tbs = assembleTbsCertificate({
    version: 3,
    serialNumber: randomSerialNumber(),
    issuer: issuer.parsed.subject,
    subject: encodeName([{ type: 'CN', value: cn }]),
    notBefore: issuer.parsed.notBefore,
    notAfter: issuer.parsed.notAfter,
    spki: encodeSm2Spki(key.publicKey),
    extensions,
  });
  const der = assembleCertificate(tbs, await issuer.key.signer.sign(tbs));
  return { der, parsed: parseCertificate(der), key };
}

describe('validateChain', async () => {
  const { root, sub, leaf } = await testHierarchy();
  const at = new Date(NOT_BEFORE.getTime() + 86_400_000);

  it('builds leaf → sub-CA → root and checks every link', async () => {
    const path = await validateChain(leaf.der, { trustAnchors: [root.der], intermediates: [sub.der], at });
    expect(path.map((c) => c.der)).toEqual([leaf.der, sub.der, root.der]);
    expect(await validateChain(root.der, { trustAnchors: [root.der], at })).toHaveLength(1);
  });

  it.each([
    ['a missing intermediate', { intermediates: [] }, 'CHAIN_NO_ISSUER'],
    [
      'a time after the leaf expired',
      { at: new Date(NOT_BEFORE.getTime() + 2 * 365 * 86_400_000) },
      'CHAIN_EXPIRED',
    ],
    ['a time before issuance', { at: new Date(NOT_BEFORE.getTime() - 86_400_000) }, 'CHAIN_EXPIRED'],
  ])('rejects %s', async (_name, change, code) => {
    await expect(
      validateChain(leaf.der, { trustAnchors: [root.der], intermediates: [sub.der], at, ...change }),
    ).rejects.toMatchObject({ code });
  });

  it('rejects a path through an end entity, beyond pathLen, or with a bad signature', async () => {
    // The CA's own lint refuses both of these, so they are assembled by hand.
    const underLeaf = await unlinted(leaf, [], 'under leaf');
    await expect(
      validateChain(underLeaf.der, { trustAnchors: [root.der], intermediates: [sub.der, leaf.der], at }),
    ).rejects.toMatchObject({ code: 'CHAIN_NOT_CA' });

    const subSub = await unlinted(
      sub,
      [basicConstraintsExtension(true), keyUsageExtension(['keyCertSign'])],
      'sub-sub',
    );
    const deep = await issue('person-sign', subSub);
    await expect(
      validateChain(deep.der, { trustAnchors: [root.der], intermediates: [sub.der, subSub.der], at }),
    ).rejects.toMatchObject({ code: 'CHAIN_PATH_LENGTH' });

    const tampered = leaf.der.slice();
    tampered[tampered.length - 10]! ^= 1;
    await expect(
      validateChain(tampered, { trustAnchors: [root.der], intermediates: [sub.der], at }),
    ).rejects.toMatchObject({ code: 'CHAIN_BAD_SIGNATURE' });
  });
});
