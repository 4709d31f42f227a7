import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

/** A seeded generator, so one --seed gives one history. */
export function randomSource(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const residentIdWeights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const usccAlphabet = '0123456789ABCDEFGHJKLMNPQRTUWXY';
const usccWeights = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];
const surnames = ['王', '李', '张', '刘', '陈', '杨', '黄', '赵', '吴', '周'];
const givenNames = ['伟', '芳', '娜', '敏', '静', '丽', '强', '磊', '军', '洋'];

/** A made-up person with a resident ID whose check character is right (GB 11643). */
export function demoPerson(random: () => number, n: number) {
  const birth = new Date(Date.UTC(1950 + Math.floor(random() * 50), 0, 1 + Math.floor(random() * 365)));
  const body = `110105${birth.toISOString().slice(0, 10).replaceAll('-', '')}${String(n % 1000).padStart(3, '0')}`;
  const sum = residentIdWeights.reduce((acc, w, i) => acc + w * Number(body[i]), 0);
  const name = `${surnames[Math.floor(random() * surnames.length)]}${givenNames[Math.floor(random() * givenNames.length)]}`;
  return { commonName: name, identity: { residentId: `${body}${'10X98765432'[sum % 11]}` } };
}

/** A made-up organisation with a unified social credit code whose check character is right (GB 32100). */
export function demoOrganisation(random: () => number, n: number) {
  const body = `91350100${String(Math.floor(random() * 1e8)).padStart(8, '0')}${n % 10}`;
  const sum = usccWeights.reduce((acc, w, i) => acc + w * usccAlphabet.indexOf(body[i]!), 0);
  return {
    commonName: `示范单位${n}`,
    organization: '福州市人民政府',
    identity: { unifiedSocialCreditCode: `${body}${usccAlphabet[(31 - (sum % 31)) % 31]}` },
  };
}

export function demoDevice(n: number) {
  return { commonName: `gateway-${n}.demo.example.cn`, organization: 'Demo' };
}

/**
 * A holder's own SM2 key and PKCS#10 request, made with the OpenSSL CLI as a holder's tool would:
 * the holder's key is not the CA's, and its request is what the RA checks.
 */
export class HolderKeys {
  #n = 0;
  constructor(readonly dir: string) {}

  newKey(): string {
    const file = join(this.dir, `holder-${++this.#n}.key`);
    execFileSync('openssl', [
      'genpkey',
      '-algorithm',
      'EC',
      '-pkeyopt',
      'ec_paramgen_curve:SM2',
      '-out',
      file,
    ]);
    return file;
  }

  csr(key: string): string {
    return execFileSync(
      'openssl',
      ['req', '-new', '-key', key, '-sm3', '-sigopt', 'distid:1234567812345678', '-subj', '/CN=holder'],
      { encoding: 'utf8' },
    );
  }
}
