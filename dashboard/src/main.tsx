import { StrictMode } from "react";
import { createRoot } from "react-dom/client";

import { App } from "@/app/app";
import { restoreSession } from "@/app/restore-session";
import { initEnv, type SupportedLocale } from "@/config/env";
import { currentLocale, loadCatalogue } from "@/lib/i18n";

import "./index.css";

const container = document.getElementById("root");
if (!container) throw new Error("index.html has no #root element");
const root = createRoot(container);

async function start(): Promise<void> {
  initEnv();
  void restoreSession(); // the refresh call runs while the catalogue loads
  // The page's language before the first render: never a flash of keys or of the other language.
  await loadCatalogue(currentLocale(), "start");
  root.render(
    <StrictMode>
      <App />
    </StrictMode>,
  );
}

start().catch(async (error: unknown) => {
  // A misconfigured build (or a catalogue that cannot be fetched) says so plainly instead of
  // failing somewhere deep inside; in English when the page's locale or catalogue is out of reach.
  let locale: SupportedLocale = "en-GB";
  try {
    locale = currentLocale();
  } catch {
    // the build's configuration is what failed: English
  }
  const title = await loadCatalogue(locale, "start").then(
    (en) => en.boot.cannotStart,
    () => "EnergyPulse cannot start",
  );
  root.render(
    <div role="alert" style={{ fontFamily: "system-ui", padding: 32 }}>
      <h1>{title}</h1>
      <p>{error instanceof Error ? error.message : String(error)}</p>
    </div>,
  );
});
