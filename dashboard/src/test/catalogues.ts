/** Both catalogues, whole and synchronously, for tests that word something in a given language
 *  (the app loads them on demand: lib/i18n/index.ts). */
import type { SupportedLocale } from "@/config/env";
import type { Messages } from "@/lib/i18n";
import { en } from "@/lib/i18n/en";
import { nb } from "@/lib/i18n/nb";

export const CATALOGUES: Record<SupportedLocale, Messages> = { "en-GB": en, "nb-NO": nb };
