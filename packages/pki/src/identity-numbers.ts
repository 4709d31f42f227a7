/**
 * Check characters of the PRC identity numbers an entry clerk keys in. A wrong
 * check character is almost always a typing error, caught before a reviewer
 * sees the application and long before it is signed into a certificate.
 */

const residentIdWeights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const residentIdChecks = '10X98765432';

/** GB 11643-1999 citizen identity number: 6-digit area, birth date YYYYMMDD, 3-digit sequence, check (ISO 7064 MOD 11-2). */
export function isResidentId(value: string): boolean {
  if (!/^\d{17}[\dX]$/.test(value)) return false;
  const birth = value.slice(6, 14);
  const date = new Date(`${birth.slice(0, 4)}-${birth.slice(4, 6)}-${birth.slice(6, 8)}T00:00:00Z`);
  if (Number.isNaN(date.getTime()) || date.toISOString().slice(0, 10).replaceAll('-', '') !== birth)
    return false;
  const sum = residentIdWeights.reduce((acc, w, i) => acc + w * Number(value[i]), 0);
  return residentIdChecks[sum % 11] === value[17];
}

const usccAlphabet = '0123456789ABCDEFGHJKLMNPQRTUWXY';
const usccWeights = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];

/** GB 32100-2015 unified social credit code: 18 characters over a 31-symbol alphabet, check MOD 31. */
export function isUnifiedSocialCreditCode(value: string): boolean {
  if (value.length !== 18) return false;
  const digits = [...value].map((c) => usccAlphabet.indexOf(c));
  if (digits.some((d) => d < 0)) return false;
  const sum = usccWeights.reduce((acc, w, i) => acc + w * digits[i]!, 0);
  return digits[17] === (31 - (sum % 31)) % 31;
}

const orgCodeWeights = [3, 7, 9, 10, 5, 8, 4, 2];

/** GB 11714-1997 organisation code: 8 body characters and a MOD 11 check ('X' for 10), as `XXXXXXXX-C` or without the dash. */
export function isOrganizationCode(value: string): boolean {
  const match = /^([0-9A-Z]{8})-?([0-9X])$/.exec(value);
  if (!match) return false;
  const body = match[1]!;
  const sum = orgCodeWeights.reduce((acc, w, i) => acc + w * Number.parseInt(body[i]!, 36), 0);
  const check = 11 - (sum % 11);
  return match[2] === (check === 10 ? 'X' : check === 11 ? '0' : String(check));
}
