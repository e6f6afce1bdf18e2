import { isPublicAddress, literalAddressProblem, publicOnlyLookup, urlProblem } from './url-guard.js';

describe('url-guard: no SSRF through webhooks', () => {
  it.each([
    ['127.0.0.1', false],
    ['10.0.0.1', false],
    ['172.16.5.4', false],
    ['192.168.1.1', false],
    ['169.254.169.254', false],
    ['100.64.0.1', false],
    ['0.0.0.0', false],
    ['::1', false],
    ['fe80::1', false],
    ['fd12:3456::1', false],
    ['::ffff:127.0.0.1', false],
    ['::ffff:10.1.1.1', false],
    ['::127.0.0.1', false],
    ['::7f00:1', false],
    ['::a9fe:a9fe', false],
    ['224.0.0.1', false],
    ['93.184.215.14', true],
    ['2606:2800:21f:cb07:6820:80da:af6b:8b2c', true],
    ['not an address', false],
  ])('%s is public: %s', (address, expected) => {
    expect(isPublicAddress(address)).toBe(expected);
  });

  it('accepts only absolute http(s) URLs', () => {
    expect(urlProblem('https://example.com/hook')).toBeNull();
    expect(urlProblem('http://example.com:8080/hook?x=1')).toBeNull();
    expect(urlProblem('ftp://example.com')).toMatch(/http or https/);
    expect(urlProblem('file:///etc/passwd')).toMatch(/http or https/);
    expect(urlProblem('/relative')).toMatch(/absolute/);
    expect(urlProblem('https://user:secret@example.com/hook')).toMatch(/user name or password/);
    expect(urlProblem('https://token@example.com/hook')).toMatch(/user name or password/);
  });

  it('checks literal addresses in the URL', () => {
    expect(literalAddressProblem('http://[::1]:8080/x')).toMatch(/not a public address/);
    expect(literalAddressProblem('http://93.184.215.14/x')).toBeNull();
    expect(literalAddressProblem('http://example.com/x')).toBeNull();
  });

  it('refuses, at connect time, a name that resolves to a loopback address', async () => {
    for (const all of [false, true]) {
      const error = await new Promise<Error | null>((resolve) =>
        publicOnlyLookup('localhost', { all } as never, (e) => resolve(e as Error | null)),
      );
      expect(error?.message).toMatch(/is not public/);
      expect(error?.message).not.toMatch(/127\.0\.0\.1|::1/);
    }
  });
});
