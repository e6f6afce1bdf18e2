import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import type { AppConfig } from '../config/app-config.js';
import type { Sandbox, SandboxAccount } from './sandbox.js';

export const SANDBOX_EXAMPLE_FILE = 'sandbox-example.sh';

/** What a developer needs after `npm start`: where things are, the keys, and a loop to try. */
export function startupBanner(config: AppConfig, databaseLabel: string, sandbox?: Sandbox, examplePath?: string): string {
  const base = config.appUrl;
  const lines = [
    '',
    `calsync is listening on ${base}`,
    `  database:  ${databaseLabel}`,
    // Production closes /docs unless DOCS_ENABLED says otherwise: no link to a 404.
    ...(config.docsEnabled ? [`  API docs:  ${base}/docs`] : []),
    `  health:    ${base}/health   metrics: ${base}/metrics`,
  ];
  if (config.generated.apiKey || config.generated.adminApiKey) {
    const kept = `   (generated for development, kept in ${display(config.dataDir)}/dev-secrets.json)`;
    // Only a generated key is printed: a key the operator set is theirs already, and stays out of the output.
    const yours = (name: string) => `(yours, from ${name}; not printed)`;
    lines.push(`  API_KEY:       ${config.generated.apiKey ? config.apiKey + kept : yours('API_KEY')}`);
    lines.push(`  ADMIN_API_KEY: ${config.generated.adminApiKey ? config.adminApiKey + kept : yours('ADMIN_API_KEY')}`);
  }
  if (sandbox) {
    lines.push(
      '',
      `Sandbox calendars (standing in for the providers without credentials); their state is kept in ${display(sandbox.stateDir)}/ between runs.`,
    );
    for (const a of sandbox.accounts) {
      const curl = a.caFile ? `curl -sS --cacert ${shq(display(a.caFile))}` : 'curl -sS';
      const events = `${a.controlBaseUrl}${fill(a.eventsPath, { calendarId: encodeURIComponent(a.calendarId) })}`;
      const event = `"${a.controlBaseUrl}${fillPath(a.eventPath, encodeURIComponent(a.calendarId), '$EVENT_ID')}"`;
      const move = fill(a.moveBody, { start: '2030-01-07T12:00:00Z', end: '2030-01-07T12:30:00Z' });
      lines.push(
        `  ${a.label}: ${a.url}   (${curl} ${a.controlBaseUrl} lists its control routes)`,
        `    account ${a.email}, refresh token ${a.refreshToken}`,
        `    calendars ${a.calendarIds.map((id) => (id === a.calendarId ? `${id} (the one below)` : id)).join(', ')}`,
        ...(a.caFile
          ? [`    HTTPS with its own CA, kept across runs: ${display(a.caFile)} (curl --cacert, or NODE_EXTRA_CA_CERTS)`]
          : []),
        `    its events:      ${curl} ${events}`,
        `    take the last:   EVENT_ID=$(${curl} ${events} | node -p '${LAST_ID_JS}'); echo $EVENT_ID`,
        `    see it:          ${curl} ${event}`,
        `    move it:         ${curl} -X PATCH ${event} -H 'Content-Type: application/json' -d '${move}'`,
        `    delete it:       ${curl} -X DELETE ${event}`,
      );
    }
    lines.push(
      '',
      `Try the whole loop with ${sandbox.accounts.map((a) => a.label).join(' and ')}: for each, create a user, connect the`,
      'sandbox account, set the destination calendar, turn on the sync flags, open the push channel, book; then move and',
      'delete the event in the sandbox and watch the booking get rescheduled and cancelled.',
    );
    if (examplePath) {
      lines.push(`Copy-paste shell, in ${display(examplePath)} (rewritten at each start):`, `  bash ${display(examplePath)}`);
    } else {
      lines.push(
        sandboxExampleScript({
          appUrl: base,
          // Printed: a key the operator set is read from their environment instead.
          apiKey: config.generated.apiKey ? config.apiKey : undefined,
          adminApiKey: config.generated.adminApiKey ? config.adminApiKey : undefined,
          accounts: sandbox.accounts,
        }),
      );
    }
  }
  lines.push('');
  return lines.join('\n');
}

/** Writes the example to `DATA_DIR/sandbox-example.sh`; undefined when it cannot (the banner then prints it whole). */
export function writeSandboxExample(config: AppConfig, sandbox: Sandbox): string | undefined {
  const path = join(config.dataDir, SANDBOX_EXAMPLE_FILE);
  const script = sandboxExampleScript({
    appUrl: config.appUrl,
    // A key the operator set stays out of the file too: the script reads it from the environment.
    apiKey: config.generated.apiKey ? config.apiKey : undefined,
    adminApiKey: config.generated.adminApiKey ? config.adminApiKey : undefined,
    accounts: sandbox.accounts,
  });
  try {
    mkdirSync(config.dataDir, { recursive: true });
    // It holds the API keys: readable by the owner only, like dev-secrets.json.
    writeFileSync(path, script, { mode: 0o600 });
    return path;
  } catch {
    return undefined;
  }
}

export interface SandboxExampleInput {
  /** The service's base URL, without a trailing slash. */
  appUrl: string;
  /** The keys; undefined: the script reads the variable from the environment it runs in. */
  apiKey: string | undefined;
  adminApiKey: string | undefined;
  /** One section of the script per account: a user of its own, connected to that account, and the loop. */
  accounts: SandboxAccount[];
}

/**
 * The whole loop as shell that runs as is (bash or zsh, pasted or as a file): nothing to fill in, ids are
 * captured in variables. Provider details come from the accounts (control routes and the move body), so a
 * second sandbox provider adds a section without changes here.
 */
export function sandboxExampleScript(input: SandboxExampleInput): string {
  // No # comments and no shebang: pasted into an interactive zsh (macOS' default shell) they would be run as
  // commands. Notes are `: '...'` no-ops instead, and every step prints what it does.
  const lines = [
    ": 'calsync sandbox: the whole two-way loop, by hand. npm start rewrites this file at each start.'",
    ": 'Run it with bash, or paste it into a bash or zsh shell. It needs curl, and node to read the JSON answers.'",
    '',
    `API=${shq(`${input.appUrl}/api/v1`)}`,
    input.apiKey === undefined ? 'KEY="${API_KEY:?set API_KEY as calsync has it}"' : `KEY=${shq(input.apiKey)}`,
    input.adminApiKey === undefined
      ? 'ADMIN_KEY="${ADMIN_API_KEY:?set ADMIN_API_KEY as calsync has it}"'
      : `ADMIN_KEY=${shq(input.adminApiKey)}`,
    '',
    `api()   { curl -sS -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' "$@"; }`,
    `admin() { curl -sS -H "Authorization: Bearer $ADMIN_KEY" -H 'Content-Type: application/json' "$@"; }`,
    'step()  { printf "\\n== %s\\n" "$*"; }',
    ": 'show FIELD...: prints fields of the JSON on stdin (paths like references.0.externalEventId); one field'",
    ": 'prints its bare value, so it can be captured; a missing one prints the whole answer on stderr'",
    `show()  { node -e '${SHOW_JS}' "$@"; }`,
    ": 'wait_for BOOKING FIELD [VALUE]: asks for the booking until FIELD has VALUE (or any value), up to 20 s'",
    'wait_for() {',
    '  for i in $(seq 40); do',
    '    v=$(api "$API/bookings/$1" | show "$2" 2>/dev/null)',
    '    if [ -n "$v" ] && { [ -z "$3" ] || [ "$v" = "$3" ]; }; then echo "$v"; return 0; fi',
    '    sleep 0.5',
    '  done',
    '  echo "timed out waiting for $2 $3" >&2; return 1',
    '}',
    '',
    ": 'RUN makes the user of each run unique, so the script can run again; DAY is the day after tomorrow (UTC)'",
    'RUN=$(date +%s)',
    "DAY=$(node -p 'new Date(Date.now() + 2 * 86400000).toISOString().slice(0, 10)')",
    'START="${DAY}T10:00:00.000Z"; END="${DAY}T10:30:00.000Z"',
    'NEW_START="${DAY}T12:00:00.000Z"; NEW_END="${DAY}T12:30:00.000Z"',
  ];
  input.accounts.forEach((account, i) => lines.push('', ...accountSection(account, i + 1)));
  lines.push('');
  return lines.join('\n');
}

function accountSection(a: SandboxAccount, n: number): string[] {
  const curl = a.caFile ? 'curl -sS --cacert "$CA"' : 'curl -sS';
  const event = `"$SANDBOX${fillPath(a.eventPath, '$CAL', '$EVENT_ID')}"`;
  const sect = (title: string) => `step ${shq(`${n}.${title}`)}`;
  return [
    `: ${shq(`---- ${a.label}: sandbox account ${a.email}; ${a.caFile ? `curl --cacert ${a.caFile}` : 'curl'} ${a.controlBaseUrl} lists the control routes of its sandbox ----`)}`,
    `SANDBOX=${shq(a.controlBaseUrl)}`,
    `CAL=${shq(encodeURIComponent(a.calendarId))}`,
    ...(a.caFile
      ? [
          `: ${shq('the sandbox answers HTTPS with a certificate of its own CA, kept across runs in this file')}`,
          `CA=${shq(a.caFile)}`,
        ]
      : []),
    '',
    sect('1 Create a host user'),
    `USER_ID=$(api -X POST "$API/users" -d ${json({ email: `host${n}-@RUN@@example.com`, name: `${a.label} host`, timeZone: 'Europe/Berlin' })} | show id); echo "user $USER_ID"`,
    '',
    sect(`2 Connect the sandbox ${a.label} account (tokens the sandbox issued)`),
    `CREDENTIAL_ID=$(api -X POST "$API/users/$USER_ID/credentials" -d ${json({
      provider: a.provider,
      accessToken: a.accessToken,
      refreshToken: a.refreshToken,
      expiresAt: a.accessTokenExpiresAt,
    })} | show id); echo "credential $CREDENTIAL_ID"`,
    '',
    sect(`3 Make ${a.calendarId} the destination calendar: bookings go there, changes made there come back`),
    `api -X PUT "$API/users/$USER_ID/destination-calendar" -d ${json({ credentialId: num('CREDENTIAL_ID'), externalId: a.calendarId })} | show externalId`,
    '',
    sect('4 Turn on calendar sync and the busy-time cache for this user (admin API)'),
    'for flag in calendar-subscription-sync calendar-subscription-cache; do',
    `  admin -X PUT "$API/admin/features/$flag/users/$USER_ID" -d ${json({ enabled: true })} | show featureId enabled`,
    'done',
    '',
    sect('5 Open the push channel now (the scheduler would within a minute)'),
    'admin -X POST "$API/admin/tasks/subscribe-calendars/run" | show result',
    '',
    sect('6 Book a 30-minute call; calsync writes it to the calendar'),
    `BOOKING_ID=$(api -X POST "$API/bookings" -d ${json({
      userId: num('USER_ID'),
      title: 'Intro call',
      startTime: '@START@',
      endTime: '@END@',
      attendees: [{ email: 'guest@example.com', name: 'Guest' }],
    })} | show id); echo "booking $BOOKING_ID"`,
    'EVENT_ID=$(wait_for "$BOOKING_ID" references.0.externalEventId); echo "event $EVENT_ID"',
    '',
    sect(`7 The event, in the sandbox ${a.label}`),
    `${curl} ${event} | show ${a.eventFields.join(' ')}`,
    '',
    sect(`8 The host drags it two hours later in ${a.label}`),
    `${curl} -X PATCH ${event} -H 'Content-Type: application/json' -d ${shellJson(fill(a.moveBody, { start: '@NEW_START@', end: '@NEW_END@' }))} | show start end`,
    '',
    sect('9 A moment later the booking is rescheduled, and its history says so'),
    'wait_for "$BOOKING_ID" startTime "$NEW_START" >/dev/null',
    'api "$API/bookings/$BOOKING_ID" | show status startTime endTime history',
    '',
    sect(`10 The host deletes the event in ${a.label}`),
    `${curl} -X DELETE ${event} -o /dev/null -w 'HTTP %{http_code}\\n'`,
    '',
    sect('11 ...and the booking is cancelled'),
    'wait_for "$BOOKING_ID" status cancelled >/dev/null',
    'api "$API/bookings/$BOOKING_ID" | show status cancellationReason history',
  ];
}

/** Prints the id of the last item of `{items}` on stdin (nothing when there is none); no `!` and no single quotes. */
const LAST_ID_JS = 'JSON.parse(require("fs").readFileSync(0, "utf8")).items.pop()?.id ?? ""';

/**
 * Reads JSON on stdin; prints the fields named by the arguments. Written without `!` and single quotes, so
 * it sits in single quotes in any shell, history expansion or not.
 */
const SHOW_JS = [
  'let s = ""; process.stdin.on("data", (c) => (s += c)).on("end", () => {',
  '  let d; try { d = JSON.parse(s); } catch (e) { console.error("not JSON: " + s.trim()); process.exit(1); }',
  '  const get = (p) => p.split(".").reduce((v, k) => (v == null ? undefined : v[k]), d);',
  '  const fmt = (v) => (v && typeof v === "object" ? JSON.stringify(v) : String(v));',
  '  const paths = process.argv.slice(1);',
  '  if (paths.length === 1) {',
  '    const v = get(paths[0]);',
  '    if (v === undefined) { console.error("no " + paths[0] + " in: " + s.trim()); process.exit(1); }',
  '    console.log(fmt(v));',
  '  } else for (const p of paths) {',
  '    const v = get(p);',
  '    if (Array.isArray(v)) { console.log(p + ":"); for (const x of v) console.log("  " + fmt(x)); }',
  '    else console.log(p + ": " + fmt(v));',
  '  }',
  '});',
].join('\n');

/** A shell variable holding a number, spliced into JSON unquoted. */
const num = (name: string) => `@#${name}@`;

/**
 * JSON as a single-quoted shell word. `@NAME@` inside a string is replaced by the shell variable NAME;
 * a whole value `num('NAME')` becomes the variable unquoted (a number).
 */
function json(value: unknown): string {
  return shellJson(JSON.stringify(value));
}

function shellJson(text: string): string {
  const quoted = text
    .replace(/'/g, `'\\''`)
    .replace(/"@#([A-Z_]+)@"/g, `'"$$$1"'`)
    .replace(/@([A-Z_]+)@/g, `'"$$$1"'`);
  return `'${quoted}'`;
}

function fill(template: string, values: Record<string, string>): string {
  return template.replace(/\{(\w+)\}/g, (whole, key: string) => values[key] ?? whole);
}

function fillPath(template: string, calendar: string, event: string): string {
  return fill(template, { calendarId: calendar, eventId: event });
}

function shq(value: string): string {
  return /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

/** A path as the user typed it: relative to the working directory when it is inside it. */
function display(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith(`..${sep}`) && rel !== '..' ? rel : path;
}
