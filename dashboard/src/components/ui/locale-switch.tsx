import { useState } from "react";

import { SUPPORTED_LOCALES, type SupportedLocale } from "@/config/env";
import { cn } from "@/lib/cn";
import { switchLocale, useLocale, useT } from "@/lib/i18n";

// Each language is named in itself (a reader who does not know the other one still finds theirs).
const NAMES: Record<SupportedLocale, { label: string; lang: string }> = {
  "en-GB": { label: "English", lang: "en" },
  "nb-NO": { label: "Norsk", lang: "nb" },
};

/** English / Norsk: switches text, numbers and dates together, remembered in this browser. */
export function LocaleSwitch({ className, dark = false }: { className?: string; dark?: boolean }) {
  const locale = useLocale();
  const t = useT();
  // The other language's catalogue is fetched on first use; the page switches once it is here.
  const [loading, setLoading] = useState<SupportedLocale | undefined>();
  const choose = (l: SupportedLocale) => {
    if (loading) return;
    setLoading(l);
    switchLocale(l)
      .catch(() => undefined) // offline: the page stays in its language, the button can be tried again
      .finally(() => setLoading(undefined));
  };
  return (
    <div role="group" aria-label={t.common.language} aria-busy={loading !== undefined} className={cn("inline-flex rounded-lg p-0.5 text-xs font-medium", dark ? "bg-white/10" : "bg-slate-100", className)}>
      {SUPPORTED_LOCALES.map((l) => (
        <button
          key={l}
          type="button"
          lang={NAMES[l].lang}
          aria-pressed={locale === l}
          data-testid={`locale-${l}`}
          onClick={() => choose(l)}
          className={cn(
            "rounded-md px-2 py-1 transition-colors",
            locale === l ? (dark ? "bg-white text-slate-900" : "bg-white text-slate-900 shadow-sm") : dark ? "text-slate-300 hover:text-white" : "text-slate-600 hover:text-slate-900",
          )}
        >
          {NAMES[l].label}
        </button>
      ))}
    </div>
  );
}
