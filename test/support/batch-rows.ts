import { decodeSm2Spki } from '@sm2ca/gm';
import { buildCsr } from '@sm2ca/pki';
import type { openConfiguredDevice } from '@sm2ca/platform';

type Device = Awaited<ReturnType<typeof openConfiguredDevice>>;

const residentWeights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
/** A valid GB 11643 number per holder: area 110105, birth dates from 1950-01-01, sequence 000-999. */
function residentId(n: number): string {
  const birth = new Date(Date.UTC(1950, 0, 1) + Math.floor(n / 1000) * 86_400_000);
  const body = `110105${birth.toISOString().slice(0, 10).replaceAll('-', '')}${String(n % 1000).padStart(3, '0')}`;
  const sum = residentWeights.reduce((acc, w, i) => acc + w * Number(body[i]), 0);
  return body + '10X98765432'[sum % 11];
}

/**
 * `count` rows of a person-sign batch, each with its own key made in the stack's device (session
 * objects, gone when the device closes) and its CSR; `badPercent` of them with the resident ID's
 * check character mistyped. `badRows` are their 1-based row numbers, as the RA reports them.
 */
export async function prepareBatchRows(
  device: Device,
  count: number,
  badPercent: number,
  labelPrefix = 'batch-row',
): Promise<{ rows: unknown[]; badRows: number[] }> {
  const badEvery = badPercent > 0 ? Math.round(100 / badPercent) : 0;
  const rows: unknown[] = new Array(count);
  const badRows: number[] = [];
  const prepare = async (i: number) => {
    const label = `${labelPrefix}-${i}`;
    const publicKey = decodeSm2Spki(await device.generateKeyPair({ label, token: false }));
    const csr = await buildCsr({ subject: [{ type: 'CN', value: label }], publicKey }, device.signer(label));
    const id = residentId(i);
    const bad = badEvery > 0 && i % badEvery === badEvery - 1;
    if (bad) badRows.push(i + 1);
    rows[i] = {
      holderType: 'person',
      profile: 'person-sign',
      holder: {
        commonName: label,
        identity: { residentId: bad ? id.slice(0, 17) + (id[17] === '0' ? '1' : '0') : id },
      },
      csr: Buffer.from(csr).toString('base64'),
      publishConsent: false,
    };
  };
  // A few at once: one at a time takes minutes for 10,000 rows.
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < count) await prepare(next++);
    }),
  );
  badRows.sort((a, b) => a - b);
  return { rows, badRows };
}
