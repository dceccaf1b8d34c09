/**
 * Build-time environment, validated once at start-up (main.tsx renders a configuration error
 * instead of a half-working app when something is wrong).
 */
export interface AppEnv {
  /** Prefix of every API URL: "" = same origin (the default; Envoy serves both). */
  apiBaseUrl: string;
  /** Bidding zone used when a household's profile cannot be read. */
  defaultZone: string;
  /** Upper bound of the live stream's reconnect backoff, ms. */
  streamMaxBackoffMs: number;
  /** The ledger's pinned note key (vkey, spec §16): "" = not pinned, the page says so. */
  ledgerVerifierKey: string;
  /** The witness's pinned cosignature key (vkey) and endpoint ("" = no witness configured). */
  witnessVerifierKey: string;
  witnessUrl: string;
  /** The build's default locale of text, numbers and dates (lib/i18n/locale.ts: the browser's own
   *  choice wins): VITE_LOCALE, else the installation's (VITE_EP_LOCALE, written by the run
   *  command from the rule set's currency: NOK nb-NO, EUR en-GB), else en-GB. */
  locale: SupportedLocale;
}

/** Locales the dashboard has a text catalogue for (src/lib/i18n) and is checked in (src/lib/format.test.ts). */
export const SUPPORTED_LOCALES = ["en-GB", "nb-NO"] as const;
export type SupportedLocale = (typeof SUPPORTED_LOCALES)[number];

export function isSupportedLocale(value: string): value is SupportedLocale {
  return (SUPPORTED_LOCALES as readonly string[]).includes(value);
}

export class EnvError extends Error {
  override name = "EnvError";
}

type RawEnv = Record<string, string | boolean | undefined>;

function readString(raw: RawEnv, key: string, fallback: string): string {
  const value = raw[key];
  return typeof value === "string" && value.trim() !== "" ? value.trim() : fallback;
}

export function parseEnv(raw: RawEnv): AppEnv {
  const apiBaseUrl = readString(raw, "VITE_API_BASE_URL", "").replace(/\/+$/, "");
  if (apiBaseUrl !== "" && !/^https?:\/\/[^/]+/.test(apiBaseUrl) && !apiBaseUrl.startsWith("/")) {
    throw new EnvError(`VITE_API_BASE_URL must be empty, a path or an http(s) URL, got "${apiBaseUrl}"`);
  }
  const defaultZone = readString(raw, "VITE_DEFAULT_ZONE", "NO1");
  if (!/^[A-Z0-9_-]{2,16}$/.test(defaultZone)) {
    throw new EnvError(`VITE_DEFAULT_ZONE must look like a bidding zone (e.g. NO1), got "${defaultZone}"`);
  }
  const backoff = Number(readString(raw, "VITE_STREAM_MAX_BACKOFF_MS", "15000"));
  if (!Number.isInteger(backoff) || backoff < 500 || backoff > 300_000) {
    throw new EnvError("VITE_STREAM_MAX_BACKOFF_MS must be an integer between 500 and 300000");
  }
  const vkey = /^[^\s+]+\+[0-9a-f]{8}\+[A-Za-z0-9+/]+=*$/;
  const ledgerVerifierKey = readString(raw, "VITE_EP_LEDGER_VERIFIER_KEY", "");
  const witnessVerifierKey = readString(raw, "VITE_EP_WITNESS_VERIFIER_KEY", "");
  for (const [name, value] of [["VITE_EP_LEDGER_VERIFIER_KEY", ledgerVerifierKey], ["VITE_EP_WITNESS_VERIFIER_KEY", witnessVerifierKey]] as const) {
    if (value !== "" && !vkey.test(value)) throw new EnvError(`${name} must be a note verifier key (name+keyid+key), got "${value}"`);
  }
  const witnessUrl = readString(raw, "VITE_EP_WITNESS_URL", "").replace(/\/+$/, "");
  if (witnessUrl !== "" && !/^https?:\/\/[^/]+/.test(witnessUrl)) throw new EnvError(`VITE_EP_WITNESS_URL must be an http(s) URL, got "${witnessUrl}"`);
  const locale = readString(raw, "VITE_LOCALE", readString(raw, "VITE_EP_LOCALE", "en-GB"));
  if (!isSupportedLocale(locale)) throw new EnvError(`VITE_LOCALE must be one of ${SUPPORTED_LOCALES.join(", ")}, got "${locale}"`);
  return { apiBaseUrl, defaultZone, streamMaxBackoffMs: backoff, ledgerVerifierKey, witnessVerifierKey, witnessUrl, locale };
}

let current: AppEnv | undefined;

/** Validates import.meta.env; call once before rendering. Throws EnvError. */
export function initEnv(raw: RawEnv = import.meta.env): AppEnv {
  current = parseEnv(raw);
  return current;
}

export function env(): AppEnv {
  current ??= parseEnv(import.meta.env);
  return current;
}
