/**
 * The text catalogue: every user-visible string in en-GB (en.ts, the reference shape) and nb-NO
 * (nb.ts, typed `Messages`, so a key missing or extra in either fails tsc). Components read it
 * with useT(); numbers and dates inside messages still go through lib/format.ts, which follows the
 * same locale (lib/i18n/locale.ts), so text, numbers and dates always switch together.
 *
 * Each catalogue is loaded on demand, in two chunks (issue #21: a first visit downloads one
 * language, and of it only what the sign-in page shows): main.tsx loads the page's start part
 * before the first render, the signed-in shell loads the pages part with its own chunk
 * (app/router.tsx), and switchLocale() loads the other language's parts before switching, so
 * useT() and messages() stay synchronous and never show a key or the wrong language.
 */
import { useSyncExternalStore } from "react";

import type { SupportedLocale } from "@/config/env";

import type { Messages, PageMessages, StartMessages } from "./en";
import { currentLocale, setLocale, subscribeLocale } from "./locale";

export type { Messages } from "./en";
export { currentLocale, LOCALE_STORAGE_KEY } from "./locale";

/** "start": what a page shows before signing in; "all": with the signed-in pages' words too. */
export type CataloguePart = "start" | "all";

const LOADERS: Record<SupportedLocale, { start: () => Promise<StartMessages>; pages: () => Promise<PageMessages> }> = {
  "en-GB": { start: () => import("./en-start").then((m) => m.enStart), pages: () => import("./en-pages").then((m) => m.enPages) },
  "nb-NO": { start: () => import("./nb-start").then((m) => m.nbStart), pages: () => import("./nb-pages").then((m) => m.nbPages) },
};

interface Loaded {
  start?: StartMessages;
  pages?: PageMessages;
  /** What messages() answers: both parts, or the start part alone (a page key then throws). */
  messages?: Messages;
}

const loaded = new Map<SupportedLocale, Loaded>();
const pending = new Map<string, Promise<unknown>>();

function entry(locale: SupportedLocale): Loaded {
  let e = loaded.get(locale);
  if (!e) loaded.set(locale, (e = {}));
  return e;
}

// The pages part's sections (tsc checks the list against en-pages.ts: none missing, none extra).
const PAGE_SECTIONS: Record<keyof PageMessages, true> = {
  routes: true,
  chart: true,
  history: true,
  schemes: true,
  notifications: true,
  export: true,
  ledger: true,
  invoices: true,
  head: true,
  home: true,
  admin: true,
  alerts: true,
  reasons: true,
  reasonFields: true,
};

// Until the pages part is here a page key is a programming error (the signed-in chunks wait
// for it): say so by name rather than fail on `undefined` somewhere in a component.
function startOnly(start: StartMessages): Messages {
  const partial = { ...start };
  for (const key of Object.keys(PAGE_SECTIONS)) {
    Object.defineProperty(partial, key, {
      get() {
        throw new Error(`text catalogue: "${key}" is in the pages part, not loaded yet`);
      },
    });
  }
  return partial as Messages;
}

function settle(e: Loaded): void {
  if (e.start) e.messages = e.pages ? { ...e.start, ...e.pages } : startOnly(e.start);
}

function once<T>(key: string, load: () => Promise<T>, keep: (value: T) => void): Promise<void> {
  let promise = pending.get(key) as Promise<void> | undefined;
  if (!promise) {
    promise = load().then(
      (value) => {
        keep(value);
        pending.delete(key);
      },
      (error: unknown) => {
        pending.delete(key); // a failed fetch is tried again on the next call
        throw error;
      },
    );
    pending.set(key, promise);
  }
  return promise;
}

/** Fetches the locale's catalogue (the part asked for, once each) before it is needed. */
export async function loadCatalogue(locale: SupportedLocale, part: CataloguePart = "all"): Promise<Messages> {
  const e = entry(locale);
  const loads: Promise<void>[] = [];
  if (!e.start)
    loads.push(
      once(`${locale}:start`, LOADERS[locale].start, (start) => {
        e.start = start;
        settle(e);
      }),
    );
  if (part === "all" && !e.pages)
    loads.push(
      once(`${locale}:pages`, LOADERS[locale].pages, (pages) => {
        e.pages = pages;
        settle(e);
      }),
    );
  await Promise.all(loads);
  return catalogueOf(locale);
}

/** A catalogue already in hand (the tests' setup imports both statically). */
export function provideCatalogue(locale: SupportedLocale, catalogue: Messages): void {
  const e = entry(locale);
  e.start = catalogue;
  e.pages = catalogue;
  settle(e);
}

const whole = new Map<SupportedLocale, Promise<Messages>>();

/** The locale's whole catalogue, one promise per locale (for React's use(): the signed-in shell). */
export function wholeCatalogue(locale: SupportedLocale): Promise<Messages> {
  let promise = whole.get(locale);
  if (!promise) {
    promise = loadCatalogue(locale, "all");
    whole.set(locale, promise);
    promise.catch(() => whole.delete(locale)); // tried again on the next render
  }
  return promise;
}

/** Whether the locale's catalogue (the part asked for) is loaded. */
export function hasCatalogue(locale: SupportedLocale, part: CataloguePart = "start"): boolean {
  const e = loaded.get(locale);
  return e?.start !== undefined && (part === "start" || e.pages !== undefined);
}

/** Loads the locale's catalogue (as much of it as the page has of its own), then switches the
 *  whole page (remembered unless `remember` is false). */
export async function switchLocale(locale: SupportedLocale, remember = true): Promise<void> {
  await loadCatalogue(locale, hasCatalogue(currentLocale(), "all") ? "all" : "start");
  setLocale(locale, remember);
}

function catalogueOf(locale: SupportedLocale): Messages {
  const catalogue = loaded.get(locale)?.messages;
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
