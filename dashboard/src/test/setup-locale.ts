/**
 * Every vitest run starts in en-GB, whatever VITE_LOCALE / VITE_EP_LOCALE a developer's .env sets:
 * the component tests assert English text and en-GB numbers. A test of another locale switches
 * with setLocale(…, false) (not remembered) and switches back. Both catalogues are provided
 * synchronously here (the app loads them on demand, lib/i18n/index.ts).
 */
import { beforeEach } from "vitest";

import { provideCatalogue } from "@/lib/i18n";
import { en } from "@/lib/i18n/en";
import { setLocale } from "@/lib/i18n/locale";
import { nb } from "@/lib/i18n/nb";

provideCatalogue("en-GB", en);
provideCatalogue("nb-NO", nb);

beforeEach(() => {
  setLocale("en-GB", false);
});
