import { ConfigError } from './config.error.js';
import { loadConfig } from './load-config.js';

const load = (env: Record<string, string>) => loadConfig({ NODE_ENV: 'test', ...env }, { persistGeneratedSecrets: false });

describe('OAUTH_RETURN_URLS', () => {
  it('is empty by default, and reads a comma-separated list of prefixes', () => {
    expect(load({}).oauthReturnUrls).toEqual([]);
    expect(load({ OAUTH_RETURN_URLS: ' https://app.example.com/oauth/done , http://localhost:5173' }).oauthReturnUrls).toEqual([
      'https://app.example.com/oauth/done',
      // An origin gets its slash: "https://app.example.com.evil.test" must not match it.
      'http://localhost:5173/',
    ]);
  });

  it('refuses what is not an http(s) URL prefix, naming the variable', () => {
    for (const bad of [
      'not a url',
      'ftp://files.example.com/',
      'https://app.example.com/?x=1',
      'https://app.example.com/#done',
    ]) {
      expect(() => load({ OAUTH_RETURN_URLS: bad })).toThrow(ConfigError);
      expect(() => load({ OAUTH_RETURN_URLS: bad })).toThrow(/OAUTH_RETURN_URLS/);
    }
  });

  it('never quotes a password a URL carries, in any of its messages', () => {
    for (const bad of [
      'https://u:pw123@x.com',
      'ftp://u:pw123@x.com/',
      'https://u:pw@123@x.com',
      'https://u:p/w123@x.com',
      'https:u:pw123@x.com',
      'http:/u:pw123@x.com?q=1',
    ]) {
      let message = '';
      try {
        load({ OAUTH_RETURN_URLS: bad, APP_URL: bad.replace('x.com', 'app.example.com') });
      } catch (error) {
        message = (error as Error).message;
      }
      expect(message).toMatch(/OAUTH_RETURN_URLS: ".+:\/\/?\*\*\*@/);
      expect(message).not.toMatch(/pw|123/);
    }
    // The webhook address Google is given, in production.
    let message = '';
    try {
      load({
        NODE_ENV: 'production',
        DATABASE_URL: 'postgres://db.example.com/calsync',
        API_KEY: 'k'.repeat(20),
        ADMIN_API_KEY: 'a'.repeat(20),
        ENCRYPTION_KEY: 'ab'.repeat(32),
        GOOGLE_CLIENT_ID: 'id',
        GOOGLE_CLIENT_SECRET: 'secret',
        GOOGLE_WEBHOOK_TOKEN: 'token',
        GOOGLE_WEBHOOK_URL: 'http://hooks:pw123@hooks.example.com/',
      });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('GOOGLE_WEBHOOK_URL must be an https URL in production');
    expect(message).not.toMatch(/pw123/);
  });

  it('wants https in production, except on loopback', () => {
    const production = {
      NODE_ENV: 'production',
      DATABASE_URL: 'postgres://db.example.com/calsync',
      API_KEY: 'k'.repeat(20),
      ADMIN_API_KEY: 'a'.repeat(20),
      ENCRYPTION_KEY: 'ab'.repeat(32),
    };
    expect(() => load({ ...production, OAUTH_RETURN_URLS: 'http://app.example.com/' })).toThrow(/https/);
    expect(
      load({ ...production, OAUTH_RETURN_URLS: 'https://app.example.com/,http://localhost:3000/' }).oauthReturnUrls,
    ).toHaveLength(2);
  });
});
