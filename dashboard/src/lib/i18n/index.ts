/**
 * The text catalogue: every user-visible string in en-GB (en.ts, the reference shape) and nb-NO
 * (nb.ts, typed `Messages`, so a key missing or extra in either fails tsc). Components read it
 * with useT(); numbers and dates inside messages still go through lib/format.ts, which follows the
 * same locale (lib/i18n/locale.ts), so text, numbers and dates always switch together.
 */
import { useSyncExternalStore } from "react";

import type { SupportedLocale } from "@/config/env";

import { en, type Messages } from "./en";
import { currentLocale, subscribeLocale } from "./locale";
import { nb } from "./nb";

export type { Messages } from "./en";
export { currentLocale, LOCALE_STORAGE_KEY, setLocale } from "./locale";

export const CATALOGUES: Record<SupportedLocale, Messages> = { "en-GB": en, "nb-NO": nb };

/** The catalogue of the page's locale, outside React (error texts built in hooks, CSV headers). */
export function messages(): Messages {
  return CATALOGUES[currentLocale()];
}

export function useLocale(): SupportedLocale {
  return useSyncExternalStore(subscribeLocale, currentLocale, currentLocale);
}

/** The catalogue of the page's locale; re-renders the component when the language switches. */
export function useT(): Messages {
  return CATALOGUES[useLocale()];
}
