import { useState, type SubmitEvent } from "react";

import { Button } from "@/components/ui/button";
import { LogoMark } from "@/components/ui/icons";
import { TextField } from "@/components/ui/field";
import { errorMessage } from "@/lib/api-client";
import { useT } from "@/lib/i18n";

import { useCompletePasswordReset } from "../api/complete-password-reset";

/**
 * The token arrives in the URL fragment (never sent to a server); it is read once and wiped from
 * the address bar and history, so it is not left behind for the next person at this browser.
 */
function takeTokenFromFragment(): string {
  const token = new URLSearchParams(window.location.hash.slice(1)).get("token") ?? "";
  if (window.location.hash) window.history.replaceState(null, "", window.location.pathname);
  return token;
}

/** Choosing a new password with the one-time link an operator made (public: no session needed). */
export function ResetPasswordPage() {
  const t = useT().reset;
  const [token] = useState(takeTokenFromFragment);
  const [password, setPassword] = useState("");
  const [again, setAgain] = useState("");
  const reset = useCompletePasswordReset();
  const mismatch = again.length > 0 && password !== again;
  const submit = (event: SubmitEvent<HTMLFormElement>) => {
    event.preventDefault();
    if (!mismatch) reset.mutate({ resetToken: token, newPassword: password });
  };
  return (
    <main className="flex min-h-dvh items-center justify-center px-4 py-12">
      <div className="w-full max-w-sm">
        <div className="mb-8 flex items-center gap-3">
          <LogoMark />
          <span className="text-lg font-semibold tracking-tight">EnergyPulse</span>
        </div>
        <h1 className="text-2xl font-semibold tracking-tight text-slate-900">{t.title}</h1>
        {reset.isSuccess ? (
          <div role="status" className="mt-4 space-y-4" data-testid="reset-done">
            <p className="rounded-lg bg-emerald-50 px-3 py-2 text-sm text-emerald-800 ring-1 ring-emerald-200">
              {t.donePrefix} <strong>{reset.data.username}</strong> {t.done}
            </p>
            <a href="/" className="inline-flex h-10 items-center rounded-lg bg-brand-700 px-4 text-sm font-medium text-white hover:bg-brand-800">
              {t.signIn}
            </a>
          </div>
        ) : !token ? (
          <p role="alert" className="mt-4 rounded-lg bg-amber-50 px-3 py-2 text-sm text-amber-800 ring-1 ring-amber-200">
            {t.noToken}
          </p>
        ) : (
          <>
            <p className="mt-1 text-sm text-slate-600">{t.rules}</p>
            <form className="mt-6 space-y-4" onSubmit={submit} noValidate>
              <TextField label={t.newPassword} type="password" autoComplete="new-password" required autoFocus value={password} onChange={(e) => setPassword(e.target.value)} />
              <TextField
                label={t.repeat}
                type="password"
                autoComplete="new-password"
                required
                value={again}
                onChange={(e) => setAgain(e.target.value)}
                aria-invalid={mismatch}
                hint={mismatch ? t.differ : undefined}
              />
              {reset.error && (
                <p role="alert" className="rounded-lg bg-rose-50 px-3 py-2 text-sm text-rose-700 ring-1 ring-rose-200">
                  {errorMessage(reset.error)}
                </p>
              )}
              <Button type="submit" className="w-full" loading={reset.isPending} disabled={!password || password !== again}>
                {t.set}
              </Button>
            </form>
          </>
        )}
      </div>
    </main>
  );
}
