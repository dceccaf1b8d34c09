import { AppProvider } from "./provider";
import { AppRouter } from "./router";
import { useLocale } from "@/lib/i18n";

export function App() {
  // A language switch remounts the pages (the query cache above stays): every text, number,
  // date and chart axis is drawn again in the new locale, none left in the old one.
  const locale = useLocale();
  return (
    <AppProvider>
      <AppRouter key={locale} />
    </AppProvider>
  );
}
