/**
 * Everything the signed-in pages share (the shell, the route guards, the 404 page), one lazy chunk
 * (router.tsx): a first visit shows the sign-in page and downloads none of it (issue #21).
 */
export { AppShell } from "./layout/app-shell";
export { DefaultRedirect, RequireAdmin, RequireHousehold } from "./routes/guards";
export { NotFound } from "./routes/not-found";
