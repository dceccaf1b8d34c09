import { StrictMode } from "react";
import { createRoot } from "react-dom/client";

import { App } from "@/app/app";
import { restoreSession } from "@/app/restore-session";
import { initEnv } from "@/config/env";
import { messages } from "@/lib/i18n";

import "./index.css";

const container = document.getElementById("root");
if (!container) throw new Error("index.html has no #root element");
const root = createRoot(container);

try {
  initEnv();
  void restoreSession();
  root.render(
    <StrictMode>
      <App />
    </StrictMode>,
  );
} catch (error) {
  // A misconfigured build says so plainly instead of failing somewhere deep inside.
  root.render(
    <div role="alert" style={{ fontFamily: "system-ui", padding: 32 }}>
      <h1>{messages().boot.cannotStart}</h1>
      <p>{error instanceof Error ? error.message : String(error)}</p>
    </div>,
  );
}
