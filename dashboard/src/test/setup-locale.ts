/**
 * Every vitest run starts in en-GB, whatever VITE_LOCALE / VITE_EP_LOCALE a developer's .env sets:
 * the component tests assert English text and en-GB numbers. A test of another locale switches
 * with setLocale(…, false) (not remembered) and switches back.
 */
import { beforeEach } from "vitest";

import { setLocale } from "@/lib/i18n/locale";

beforeEach(() => {
  setLocale("en-GB", false);
});
