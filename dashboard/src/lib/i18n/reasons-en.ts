/**
 * What to tell a household for each API error reason (google.rpc.ErrorInfo.reason, the registry
 * energypulse.errors.v1.ErrorReason, docs/error-reasons.md), in English. Keyed by every reason of
 * the generated enum, so a reason added to the proto fails tsc here and in reasons-nb.ts until it
 * has its words; errorMessage() (lib/api-client.ts) shows these instead of the server's English.
 * Reasons only an internal service can meet (ledger writes, audit reports) still get a line: the
 * admin pages can surface them, and a line that says "not you, tell us" beats a raw code.
 */
import type { ErrorReason } from "@/gen/energypulse/errors/v1/error_reason_pb";

/** Every reason string a service can return (the enum's value names, without the default). */
export type ReasonName = Exclude<keyof typeof ErrorReason, "ERROR_REASON_UNSPECIFIED">;
export type ReasonTexts = Readonly<Record<ReasonName, string>>;

/** The alert rule fields ALERT_INVALID_RULE names in its ErrorInfo metadata "field" (alert_svc/rules.py). */
export type AlertRuleField =
  | "condition"
  | "display_name"
  | "threshold_eur_mwh"
  | "threshold_micro_per_kwh"
  | "max_price_eur_mwh"
  | "max_price_micro_per_kwh"
  | "min_probability"
  | "lookahead_hours"
  | "duration_minutes"
  | "approach_percent"
  | "silent_minutes";

/** Finer words for a reason whose ErrorInfo metadata names the field at fault ("field"). */
export type ReasonFieldTexts = Readonly<Record<"ALERT_INVALID_RULE", Readonly<Record<AlertRuleField, string>>>>;

const FAULT = "This is a fault on our side, not something you did; if it keeps happening, tell your administrator.";
const RETRY = "Please try again in a moment.";
const SIGN_IN_AGAIN = "Your sign-in is no longer valid. Please sign in again.";
const ledgerRefused = (what: string) => `The ledger refused ${what}. ${FAULT}`;

export const reasonsEn: ReasonTexts = {
  // Paging
  INVALID_PAGE_TOKEN: "The list could not continue where it left off. Reload the page to start from the top.",
  INVALID_PAGE_SIZE: `The list could not be loaded: the page asked for an invalid number of rows. ${FAULT}`,
  // Signing in and access
  AUTHENTICATION_REQUIRED: "Please sign in to see this.",
  AUTH_KEYS_UNAVAILABLE: `Your sign-in cannot be checked right now. ${RETRY}`,
  AUTH_REVOCATIONS_UNAVAILABLE: `Your sign-in cannot be confirmed right now. ${RETRY}`,
  HOUSEHOLD_NOT_PERMITTED: "This household is not linked to your account.",
  METHOD_ACCESS_UNDECLARED: `This action is not available. ${FAULT}`,
  ROLE_NOT_PERMITTED: "Your account is not allowed to do this.",
  TOKEN_ALGORITHM_REJECTED: SIGN_IN_AGAIN,
  TOKEN_AUDIENCE_INVALID: SIGN_IN_AGAIN,
  TOKEN_CLAIMS_INVALID: SIGN_IN_AGAIN,
  TOKEN_EXPIRED: "Your session has expired. Please sign in again.",
  TOKEN_INVALID: SIGN_IN_AGAIN,
  TOKEN_ISSUER_INVALID: SIGN_IN_AGAIN,
  TOKEN_KID_MISSING: SIGN_IN_AGAIN,
  TOKEN_KID_UNKNOWN: SIGN_IN_AGAIN,
  TOKEN_MALFORMED: SIGN_IN_AGAIN,
  TOKEN_NOT_YET_VALID: "Your sign-in is not valid yet: the clock on this device may be wrong. Check the device's time and sign in again.",
  TOKEN_REVOKED: "Your sign-in has been ended, for example after a password change or a change to your account. Please sign in again.",
  TOKEN_SIGNATURE_INVALID: SIGN_IN_AGAIN,
  // Server and network
  DATABASE_UNAVAILABLE: `The service is busy or unavailable right now. ${RETRY}`,
  MALFORMED_REQUEST: `The server could not read what this page sent. ${FAULT}`,
  REQUEST_TOO_LARGE: "What you sent is too large. Make it shorter and try again.",
  ROUTE_NOT_FOUND: "This function is not available on this installation.",
  UPSTREAM_UNAVAILABLE: `The service is unavailable right now. ${RETRY}`,
  // Accounts
  INVALID_CREDENTIALS: "Wrong username or password.",
  LOGIN_RATE_LIMITED: "Too many failed sign-in attempts. Wait a few minutes before you try again.",
  PASSWORD_INVALID: "The password must be between 8 and 1024 characters long.",
  REFRESH_TOKEN_INVALID: "Your session has expired. Please sign in again.",
  REFRESH_TOKEN_REUSED: "You have been signed out for your safety, because your session was used in two places at once. Please sign in again.",
  ROLE_INVALID: "That is not a valid role. Choose one of the roles in the list.",
  SELF_CHANGE_REFUSED: "You cannot disable your own account or remove your own admin rights. Ask another administrator to do it.",
  USER_EXISTS: "An account with this username already exists.",
  USER_ID_REQUIRED: `No account was chosen. ${FAULT}`,
  USER_NOT_FOUND: "No account with this name or ID was found.",
  USERNAME_INVALID: "A username has 1 to 64 characters: letters, digits and _ . @ -",
  PASSWORD_TOO_COMMON: "This password is too common and easy to guess. Choose another one.",
  PASSWORD_TOO_WEAK: "This password is too weak: use at least 10 characters, at least 5 of them different.",
  PASSWORD_CONTAINS_USERNAME: "The password must not contain the username.",
  SESSION_HEADER_REQUIRED: "Your session could not be renewed from this page. Reload the page and sign in again.",
  SESSION_CROSS_SITE: "The request came from another website and was refused for your safety. Open EnergyPulse directly and try again.",
  // Ledger: looking things up
  BAD_HASH: "That is not a valid transaction hash: it has 64 characters, 0–9 and a–f.",
  BAD_HEIGHT: "That is not a valid block number.",
  BAD_MONTH: "That is not a valid month.",
  BAD_PROOF_RANGE: `The ledger cannot give a proof for sizes it does not have. ${FAULT}`,
  BAD_TREE_SIZE: `The ledger cannot compare those two sizes. ${FAULT}`,
  BLOCK_NOT_FOUND: "There is no block with this number (yet).",
  TX_NOT_FOUND: "There is no transaction with this hash.",
  TX_NOT_IN_TREE: "This transaction is not yet covered by the ledger's signed state. Try again in a little while.",
  LEDGER_CORRUPT: "A stored ledger record cannot be read: the ledger's database may have been altered. Tell your administrator.",
  LEDGER_NOT_INITIALISED: `The ledger is not set up yet. ${FAULT}`,
  // Ledger: writing records (the billing service; an admin's corrections)
  BAD_SALT: ledgerRefused("a record with an invalid salt"),
  BATCH_TOO_LARGE: `Too much was asked for in one request. ${FAULT}`,
  COST_PARTS_MISMATCH: ledgerRefused("a settlement whose cost parts do not add up"),
  EMPTY_APPEND: ledgerRefused("a request with nothing to record"),
  EMPTY_FIELD: `A required field was empty. ${FAULT}`,
  EMPTY_RECORD: ledgerRefused("an empty record"),
  FIELD_OUT_OF_RANGE: ledgerRefused("a record with a number that is too large"),
  FIELD_TOO_LONG: `A text was too long to be recorded. ${FAULT}`,
  HOUR_NOT_ALIGNED: ledgerRefused("a settlement that does not start on a whole hour"),
  MALFORMED_RECORD: ledgerRefused("a malformed record"),
  MISSING_FIELD: ledgerRefused("a record without its time"),
  MISSING_HOUSEHOLD: "No household was chosen.",
  QUANTILES_NOT_ORDERED: ledgerRefused("a forecast whose price range is out of order"),
  REQUEST_ID_REUSED: ledgerRefused("a repeated request with different content"),
  REQUEST_ID_TOO_LONG: ledgerRefused("a request with too long an ID"),
  TIMESTAMP_PRECISION: ledgerRefused("a time that is not in whole milliseconds"),
  ENERGY_NOT_SIGNED: ledgerRefused("a settlement whose energy does not match the meter's signed readings"),
  BAD_METER_SIGNATURE: ledgerRefused("a settlement whose meter signature does not match"),
  METER_KEY_NOT_RECORDED: ledgerRefused("a settlement signed with a meter key it does not know"),
  BAD_SETTLEMENT_PERIOD: ledgerRefused("a settlement with an invalid period"),
  SIGNED_VALUES_MISMATCH: ledgerRefused("a settlement whose signed meter readings do not fit its period"),
  BAD_METER_KEY: `A meter key is not valid. ${FAULT}`,
  BAD_CURRENCY: "That is not a valid currency code: three capital letters, such as NOK.",
  BAD_COMPONENT: ledgerRefused("a cost with a missing or repeated part"),
  UNBILLED_PERIOD_INVALID: ledgerRefused("a malformed record of unbilled periods"),
  UNBILLED_PERIOD_SETTLED: ledgerRefused("to mark an already billed period as unbilled"),
  LEDGER_WRITER_NOT_PERMITTED: "Only the billing service may write to the ledger.",
  CORRECTION_REASON_REQUIRED: "Write why the correction is made.",
  CORRECTION_REASON_TOO_LONG: "The reason is too long: keep it under 256 characters.",
  CORRECTION_PERIOD_NOT_BILLED: "That period has not been billed for this household, so it cannot be corrected.",
  CORRECTION_INVALID: "The correction is not valid: the amount cannot be zero, and the currency is three capital letters.",
  // Forecasts and prices
  CHEAPEST_COUNT_OUT_OF_RANGE: "The number of cheapest hours must be between 0 and 24.",
  HORIZON_OUT_OF_RANGE: "That is further ahead than the forecast goes: up to 24 hours for your consumption, 7 days for prices.",
  HOUSEHOLD_ID_REQUIRED: "No household was chosen.",
  HOUSEHOLD_NOT_FOUND: "This household is not registered, or its meter has not reported recently.",
  MARKET_DATA_EXHAUSTED: "There are no market prices for your price area right now, so no forecast can be made. Please try again later.",
  MODEL_ARTIFACT_INVALID: `The price forecast cannot be made: the forecast model failed its checks. ${FAULT}`,
  MODEL_NOT_READY: `The price forecast is starting up. ${RETRY}`,
  TIME_RANGE_TOO_LONG: "Choose a period of at most 31 days.",
  WINDOW_OUT_OF_RANGE: "That period goes further back than the forecast's track record.",
  ZONE_NOT_FOUND: "Prices for this price area are not offered here.",
  ZONE_REQUIRED: "No price area was chosen.",
  ZONE_INVALID: "That is not a Nordic price area (such as NO1 to NO5).",
  RESOLUTION_INVALID: "Prices can only be shown per quarter hour or per hour.",
  THRESHOLD_INVALID: "The price limit must be a number.",
  MODEL_FEATURE_MISSING: "The price forecast cannot be made right now: some of the data it needs, such as a weather or consumption forecast, is missing. Tell your administrator if it lasts.",
  PRICE_THRESHOLD_CONFLICT: "Give the price limit in one unit only.",
  CHEAPEST_WINDOW_DURATION_INVALID: "The length must be whole quarter hours, from 15 minutes to 24 hours.",
  CHEAPEST_WINDOW_RANGE_INVALID: "Ask for at most 10 time slots within the next 8 days.",
  // Households, meters and devices
  INVALID_HEATING: "Choose a type of heating.",
  INVALID_HOUSEHOLD_ID: "A household ID has 1 to 64 characters.",
  INVALID_INTERVAL: "The interval cannot be negative.",
  INVALID_METER_ID: "That is not a valid meter ID.",
  INVALID_RESIDENTS: "The number of residents must be between 1 and 20.",
  INVALID_TIME_RANGE: "The start must be before the end.",
  METER_NOT_FOUND: "This meter does not belong to the household.",
  INVALID_DEVICE_ID: "A device ID has 1 to 64 characters: letters, digits and _ . -",
  DEVICE_METERS_REQUIRED: "Name at least one meter for the device.",
  METER_NOT_REGISTERED: "This meter is not registered yet.",
  DEVICE_NOT_FOUND: "There is no device with this ID.",
  METER_NOT_PROVISIONED: "No device is set up for this meter.",
  BROKER_CONTROL_UNAVAILABLE: `The change could not be made right now, and nothing was changed. ${RETRY}`,
  DISPLAY_NAME_INVALID: "The name must have 1 to 80 characters, without special control characters.",
  GRID_STEP_INVALID: "That step is too fine for this period: choose a longer step or a shorter period.",
  // Bills
  BILL_UNKNOWN_GRID_COMPANY: "Your bill cannot be worked out: the prices of your grid company are not set up yet. Tell your administrator.",
  BILL_RATE_NOT_IN_FORCE: "Your bill cannot be worked out: a tax or grid tariff for one of the days is missing. Tell your administrator.",
  BILL_FX_RATE_MISSING: "Your bill cannot be worked out yet: the euro exchange rate for one of the days has not come in. Please try again later.",
  BILL_INVALID_MONTH: "Choose a month that has begun (January 1970 or later).",
  BILL_INVALID_CONTRACT: "Your bill cannot be worked out: this household's contract settings are not valid. Tell your administrator.",
  // Operator screens
  USER_QUERY_INVALID: "A search can have at most 64 characters.",
  PASSWORD_RESET_TOKEN_INVALID: "This password link is no longer valid: it has expired, been used or been replaced by a newer one. Ask an administrator for a new link.",
  AUDIT_FILTER_INVALID: "A filter can have at most 128 characters.",
  HEALTH_WINDOW_INVALID: "Service health is only kept for the last 24 hours.",
  AUDIT_WRITER_NOT_PERMITTED: `This service may not report that event to the audit log. ${FAULT}`,
  AUDIT_IDEMPOTENCY_KEY_REUSED: `The audit log refused a repeated event. ${FAULT}`,
  // Alerts
  ALERT_INVALID_RULE: "The alert rule is not valid: check that it has a condition and that its values are within the allowed limits.",
  ALERT_RULE_NOT_FOUND: "This alert rule no longer exists.",
  ALERT_INVALID_TARGET: "The address is not valid: a webhook needs an http(s) address without a username or password, and an MQTT broker needs a host name and a port from 1 to 65535.",
  ALERT_TARGET_NOT_ALLOWED: "Alerts cannot be sent to that address: it is on a private or local network, or it cannot be found.",
  ALERT_SUBSCRIPTION_NOT_FOUND: "This channel no longer exists.",
  ALERT_LIMIT_REACHED: "You have as many alert rules or channels as allowed. Delete one first.",
  ALERT_NOT_FOUND: "This alert no longer exists.",
  ALERT_PRICE_THRESHOLD_CONFLICT: "Give the price in one unit only, either EUR/MWh or per kWh, not both.",
};

export const reasonFieldsEn: ReasonFieldTexts = {
  ALERT_INVALID_RULE: {
    condition: "Choose what the rule should alert you about.",
    display_name: "The name can have at most 80 characters, without special control characters.",
    threshold_eur_mwh: "The price must be between −500 and 4000 EUR/MWh.",
    threshold_micro_per_kwh: "The price is outside the range the power market allows.",
    max_price_eur_mwh: "The highest price must be between −500 and 4000 EUR/MWh.",
    max_price_micro_per_kwh: "The highest price is outside the range the power market allows.",
    min_probability: "The chance must be between 1 and 100%.",
    lookahead_hours: "How far ahead the rule looks must be between 1 and 48 hours.",
    duration_minutes: "The duration must be whole quarter hours, from 15 minutes to 12 hours, and fit within the hours the rule looks ahead.",
    approach_percent: "The percentage must be between 50 and 99.",
    silent_minutes: "The time without readings must be between 5 minutes and 7 days.",
  },
};
