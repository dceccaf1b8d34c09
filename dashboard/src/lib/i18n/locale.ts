/**
 * The one locale of the page: text, numbers and dates switch together (issues #17, #21). The
 * browser's own choice (the language switch, kept in localStorage) wins over the build's default
 * (env().locale: VITE_LOCALE, or the installation's locale the run command writes, VITE_EP_LOCALE).
 * Kept free of the catalogues so lib/format.ts can read it without an import cycle.
 */
import { env, isSupportedLocale, type SupportedLocale } from "@/config/env";

export const LOCALE_STORAGE_KEY = "energypulse.locale";

let current: SupportedLocale | undefined;
const listeners = new Set<() => void>();

function storedLocale(): SupportedLocale | undefined {
  try {
    const value = typeof localStorage === "undefined" ? null : localStorage.getItem(LOCALE_STORAGE_KEY);
    return value !== null && isSupportedLocale(value) ? value : undefined;
  } catch {
    return undefined; // storage blocked (privacy mode): the build's default
  }
}

function applyToDocument(locale: SupportedLocale): void {
  // Screen readers and hyphenation follow <html lang>; "nb" is what they know bokmål as.
  if (typeof document !== "undefined") document.documentElement.lang = locale === "nb-NO" ? "nb" : "en";
}

/** The page's locale: the browser's stored choice, else the build's default. */
export function currentLocale(): SupportedLocale {
  if (current === undefined) {
    current = storedLocale() ?? env().locale;
    applyToDocument(current);
  }
  return current;
}

/** Switch the whole page (remembered in this browser unless `remember` is false). */
export function setLocale(locale: SupportedLocale, remember = true): void {
  if (remember) {
    try {
      localStorage.setItem(LOCALE_STORAGE_KEY, locale);
    } catch {
      // not remembered; the switch still applies to this page
    }
  }
  if (locale === current) return;
  current = locale;
  applyToDocument(locale);
  for (const listener of listeners) listener();
}

export function subscribeLocale(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}
