/** How certificate login behaves: the SM2CA_LOGIN_* settings; tests shorten the times and inject the clock. */
export interface LoginSettings {
  /** How long a challenge may be signed. */
  challengeSeconds: number;
  /** How long a session lasts from login; there is no renewal short of logging in again. */
  sessionMinutes: number;
  /** Failed logins (after a valid signature) tolerated before the account locks. */
  maxFailures: number;
  /** The first lockout; each further failure doubles it, up to maxLockoutSeconds. */
  lockoutSeconds: number;
  maxLockoutSeconds: number;
  /** TOTP time steps accepted either side of now, for clock drift. */
  totpWindow: number;
  now: () => Date;
}

/** What the configuration does not set; the timings' defaults are the configuration's (config-sources.ts). */
export const defaultLoginSettings: Pick<LoginSettings, 'totpWindow' | 'now'> = {
  totpWindow: 1,
  now: () => new Date(),
};
