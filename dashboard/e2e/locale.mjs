/**
 * The e2e scenarios assert English text: each browser context starts in en-GB (the dashboard's
 * stored language choice), whatever default the build has (a NOK installation's is nb-NO). Only
 * when nothing is stored yet, so a scenario that switches to Norsk stays switched across reloads.
 */
export async function pinEnglish(ctx) {
  await ctx.addInitScript(() => {
    try {
      if (!localStorage.getItem("energypulse.locale")) localStorage.setItem("energypulse.locale", "en-GB");
    } catch {
      // storage blocked on this origin (about:blank): nothing to pin
    }
  });
  return ctx;
}
