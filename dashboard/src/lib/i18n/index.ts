/**
 * The text catalogue: every user-visible string in en-GB (en.ts, the reference shape) and nb-NO
 * (nb.ts, typed `Messages`, so a key missing or extra in either fails tsc). Components read it
 * with useT(); numbers and dates inside messages still go through lib/format.ts, which follows the
 * same locale (lib/i18n/locale.ts), so text, numbers and dates always switch together.
 *
 * Each catalogue is its own chunk, loaded on demand (issue #21: the first visit downloads one
 * language, not both): main.tsx loads the page's before the first render, switchLocale() loads
 * the other before switching, so useT() and messages() stay synchronous and never show a key or
 * the wrong language.
 */
import { useSyncExternalStore } from "react";

import type { SupportedLocale } from "@/config/env";

import type { Messages } from "./en";
import { currentLocale, setLocale, subscribeLocale } from "./locale";

export type { Messages } from "./en";
export { currentLocale, LOCALE_STORAGE_KEY } from "./locale";

const LOADERS: Record<SupportedLocale, () => Promise<Messages>> = {
  "en-GB": () => import("./en").then((m) => m.en),
  "nb-NO": () => import("./nb").then((m) => m.nb),
};

const loaded = new Map<SupportedLocale, Messages>();
const pending = new Map<SupportedLocale, Promise<Messages>>();

/** Fetches a locale's catalogue once (a failed fetch is tried again on the next call). */
export function loadCatalogue(locale: SupportedLocale): Promise<Messages> {
  const ready = loaded.get(locale);
  if (ready) return Promise.resolve(ready);
  let promise = pending.get(locale);
  if (!promise) {
    promise = LOADERS[locale]().then(
      (catalogue) => {
        loaded.set(locale, catalogue);
        pending.delete(locale);
        return catalogue;
      },
      (error: unknown) => {
        pending.delete(locale);
        throw error;
      },
    );
    pending.set(locale, promise);
  }
  return promise;
}

/** A catalogue already in hand (the tests' setup imports both statically). */
export function provideCatalogue(locale: SupportedLocale, catalogue: Messages): void {
  loaded.set(locale, catalogue);
}

/** Whether the locale's catalogue is loaded (messages() would not throw). */
export function hasCatalogue(locale: SupportedLocale): boolean {
  return loaded.has(locale);
}

/** Loads the locale's catalogue, then switches the whole page (remembered unless `remember` is false). */
export async function switchLocale(locale: SupportedLocale, remember = true): Promise<void> {
  await loadCatalogue(locale);
  setLocale(locale, remember);
}

function catalogueOf(locale: SupportedLocale): Messages {
  const catalogue = loaded.get(locale);
  // A programming error, not a user's: main.tsx loads the page's catalogue before rendering.
  if (!catalogue) throw new Error(`the ${locale} text catalogue is not loaded (loadCatalogue first)`);
  return catalogue;
}

/** The catalogue of the page's locale, outside React (error texts built in hooks, CSV headers). */
export function messages(): Messages {
  return catalogueOf(currentLocale());
}

export function useLocale(): SupportedLocale {
  return useSyncExternalStore(subscribeLocale, currentLocale, currentLocale);
}

/** The catalogue of the page's locale; re-renders the component when the language switches. */
export function useT(): Messages {
  return catalogueOf(useLocale());
}
