// The README example: sign in as a household, read its summary, take two live readings from the
// stream, and see what an error looks like. Run against a local stack (./scripts/run):
//   EP_EDGE_URL=http://127.0.0.1:8080 npm run --silent quickstart
// Prints one JSON object per step (the end-to-end test reads them).
import { Code, ConnectError, EnergyPulse, errorInfo } from "../src/index.js";

const edge = process.env["EP_EDGE_URL"] ?? "http://127.0.0.1:8080";
const username = process.env["EP_USERNAME"] ?? "household-0001";
const password = process.env["EP_PASSWORD"] ?? "";
if (!password) {
  // No default: every installation generates its own demo password (./scripts/run prints it).
  console.error("set EP_PASSWORD to the household's password (./scripts/run prints the demo one)");
  process.exit(2);
}
const readings = Number(process.env["EP_READINGS"] ?? "2");

const client = new EnergyPulse({ baseUrl: edge });
await client.login(username, password);

// Usernames are not household ids: the signed-in user lists the households it owns.
const { user } = await client.auth.getCurrentUser({});
const householdId = user?.householdIds[0];
if (householdId === undefined) throw new Error(`${username} owns no household`);
console.log(JSON.stringify({ step: "login", username, householdId }));

// A unary call.
const summary = await client.telemetry.getHouseholdSummary({ householdId });
console.log(JSON.stringify({ step: "unary", householdId: summary.householdId, todayKwh: summary.todayKwh }));

// A server stream: live readings as the meter sends them (ended here after a few).
const stop = new AbortController();
let received = 0;
for await (const message of client.telemetry.streamReadings({ householdId }, { signal: stop.signal })) {
  received += 1;
  console.log(JSON.stringify({ step: "stream", meterId: message.reading?.meterId, powerKw: message.reading?.powerKw }));
  if (received >= readings) break; // leaving the loop cancels the call
}

// An error: another household's data. Every error carries a google.rpc.ErrorInfo reason.
try {
  await client.telemetry.getHouseholdSummary({ householdId: "someone-else" });
} catch (error) {
  const info = errorInfo(error);
  console.log(
    JSON.stringify({ step: "error", code: Code[ConnectError.from(error).code], reason: info?.reason, domain: info?.domain }),
  );
}
await client.logout();
client.close();
