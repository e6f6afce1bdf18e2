import type { AppConfig } from '../config/app-config.js';
import type { Sandbox } from './sandbox.js';

/** What a developer needs after `npm start`: where things are, the keys, and a loop to try. */
export function startupBanner(config: AppConfig, databaseLabel: string, sandbox?: Sandbox): string {
  const base = config.appUrl;
  const lines = [
    '',
    `calsync is listening on ${base}`,
    `  database:  ${databaseLabel}`,
    `  API docs:  ${base}/docs`,
    `  health:    ${base}/health   metrics: ${base}/metrics`,
  ];
  if (config.generated.apiKey || config.generated.adminApiKey) {
    lines.push(
      `  API_KEY:       ${config.apiKey}${config.generated.apiKey ? '   (generated for development, kept in .data/)' : ''}`,
    );
    lines.push(
      `  ADMIN_API_KEY: ${config.adminApiKey}${config.generated.adminApiKey ? '   (generated for development, kept in .data/)' : ''}`,
    );
  }
  if (sandbox) {
    const a = sandbox.account;
    const auth = `-H 'Authorization: Bearer ${config.apiKey}' -H 'Content-Type: application/json'`;
    const start = new Date(Date.now() + 2 * 86400_000);
    start.setUTCHours(10, 0, 0, 0);
    const end = new Date(start.getTime() + 30 * 60_000);
    lines.push(
      '',
      `Sandbox Google Calendar (no GOOGLE_CLIENT_ID set): ${sandbox.googleUrl}`,
      `  account ${a.email}, refresh token ${a.refreshToken}; its calendars live in memory and start empty each run.`,
      '',
      'Try the loop (copy and paste):',
      `  curl -s ${auth} -X POST ${base}/api/v1/users -d '{"email":"${a.email}","name":"Demo Host","timeZone":"Europe/Berlin"}'`,
      `  curl -s ${auth} -X POST ${base}/api/v1/users/<userId>/credentials -d '{"provider":"google_calendar","accessToken":"${a.accessToken}","refreshToken":"${a.refreshToken}","expiresAt":"${new Date(Date.now() + 3600_000).toISOString()}"}'`,
      `  curl -s ${auth} -X PUT ${base}/api/v1/users/<userId>/destination-calendar -d '{"credentialId":<credentialId>,"externalId":"${a.email}"}'`,
      `  curl -s ${auth} -X POST ${base}/api/v1/bookings -d '{"userId":<userId>,"title":"Intro call","startTime":"${start.toISOString()}","endTime":"${end.toISOString()}","attendees":[{"email":"guest@example.com","name":"Guest"}]}'`,
      `  curl -s ${sandbox.googleUrl}__emulator/calendars/${encodeURIComponent(a.email)}/events     # the event, in the sandbox calendar`,
      `  curl -s ${auth} ${base}/api/v1/bookings/<bookingId>`,
    );
  }
  lines.push('');
  return lines.join('\n');
}
