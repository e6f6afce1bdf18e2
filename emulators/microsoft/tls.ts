import { createHash, createPrivateKey, generateKeyPairSync, type KeyObject, randomBytes, sign } from 'node:crypto';

/**
 * A private CA and a loopback server certificate, made at start with Node's crypto alone (no X.509 package
 * is installed, and no key is committed). The Graph client only sends its bearer token over https, so the
 * emulator must speak TLS; callers trust `caPem` (https.Agent `ca`, or NODE_EXTRA_CA_CERTS for a separate
 * process). Two certificates rather than one self-signed leaf: strict verifiers (curl, OpenSSL with
 * X509_STRICT) refuse a CA certificate presented as a server certificate.
 */

export interface TlsMaterial {
  /** PEM of the CA certificate: what clients trust. */
  caPem: string;
  /** PEM of the server certificate followed by the CA (the chain the server presents). */
  certChainPem: string;
  /** PKCS#8 PEM of the server key. */
  keyPem: string;
}

const VALIDITY_DAYS = 825; // the longest lifetime Apple's TLS stack accepts for a server certificate
const DAY_MS = 86_400_000;

export function createTlsMaterial(now = Date.now()): TlsMaterial {
  const ca = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const leaf = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const caName = distinguishedName('calsync emulator local CA');
  const notBefore = new Date(now - DAY_MS);
  const notAfter = new Date(now + VALIDITY_DAYS * DAY_MS);
  const caSpki = ca.publicKey.export({ type: 'spki', format: 'der' });
  const leafSpki = leaf.publicKey.export({ type: 'spki', format: 'der' });
  const caKeyId = keyIdentifier(caSpki);

  const caCert = certificate(ca.privateKey, {
    issuer: caName,
    subject: caName,
    notBefore,
    notAfter,
    spki: caSpki,
    extensions: [
      extension(OID.basicConstraints, true, seq(bool(true))),
      extension(OID.keyUsage, true, bitString(Buffer.from([0x06]), 1)), // keyCertSign, cRLSign
      extension(OID.subjectKeyIdentifier, false, octets(caKeyId)),
    ],
  });
  const leafCert = certificate(ca.privateKey, {
    issuer: caName,
    subject: distinguishedName('127.0.0.1'),
    notBefore,
    notAfter,
    spki: leafSpki,
    extensions: [
      extension(OID.basicConstraints, true, seq()),
      extension(OID.keyUsage, true, bitString(Buffer.from([0x80]), 7)), // digitalSignature
      extension(OID.extKeyUsage, false, seq(oid(OID.serverAuth))),
      extension(
        OID.subjectAltName,
        false,
        seq(
          tlv(0x82, Buffer.from('localhost', 'ascii')), // dNSName
          tlv(0x87, Buffer.from([127, 0, 0, 1])), // iPAddress
          tlv(0x87, Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1])), // ::1
        ),
      ),
      extension(OID.subjectKeyIdentifier, false, octets(keyIdentifier(leafSpki))),
      extension(OID.authorityKeyIdentifier, false, seq(tlv(0x80, caKeyId))),
    ],
  });
  const caPem = pem('CERTIFICATE', caCert);
  return {
    caPem,
    certChainPem: pem('CERTIFICATE', leafCert) + caPem,
    keyPem: leaf.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}

/** Reuses material saved in a state file, so a CA someone already trusts stays valid across restarts. */
export function isUsableTlsMaterial(value: unknown): value is TlsMaterial {
  if (!value || typeof value !== 'object') return false;
  const m = value as Record<string, unknown>;
  if (typeof m.caPem !== 'string' || typeof m.certChainPem !== 'string' || typeof m.keyPem !== 'string') return false;
  try {
    createPrivateKey(m.keyPem);
    return m.certChainPem.includes('BEGIN CERTIFICATE') && m.caPem.includes('BEGIN CERTIFICATE');
  } catch {
    return false;
  }
}

// ---- a minimal DER writer: just the types a certificate needs ----------------------------------------

const OID = {
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  commonName: '2.5.4.3',
  organization: '2.5.4.10',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  subjectAltName: '2.5.29.17',
  subjectKeyIdentifier: '2.5.29.14',
  authorityKeyIdentifier: '2.5.29.35',
  serverAuth: '1.3.6.1.5.5.7.3.1',
};

interface CertificateInput {
  issuer: Buffer;
  subject: Buffer;
  notBefore: Date;
  notAfter: Date;
  spki: Buffer;
  extensions: Buffer[];
}

function certificate(signer: KeyObject, input: CertificateInput): Buffer {
  const algorithm = seq(oid(OID.ecdsaWithSha256));
  const serial = randomBytes(16);
  serial[0] &= 0x7f; // positive
  serial[0] |= 0x01; // and no leading zero byte to strip
  const tbs = seq(
    tlv(0xa0, integer(Buffer.from([2]))), // v3
    integer(serial),
    algorithm,
    input.issuer,
    seq(time(input.notBefore), time(input.notAfter)),
    input.subject,
    input.spki,
    tlv(0xa3, seq(...input.extensions)),
  );
  const signature = sign('sha256', tbs, signer); // DER-encoded ECDSA signature, as X.509 wants
  return seq(tbs, algorithm, bitString(signature, 0));
}

function distinguishedName(commonName: string): Buffer {
  return seq(
    tlv(0x31, seq(oid(OID.organization), utf8('calsync emulators'))),
    tlv(0x31, seq(oid(OID.commonName), utf8(commonName))),
  );
}

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return critical ? seq(oid(id), bool(true), octets(value)) : seq(oid(id), octets(value));
}

function keyIdentifier(spki: Buffer): Buffer {
  return createHash('sha1').update(spki).digest();
}

function tlv(tag: number, content: Buffer): Buffer {
  const n = content.length;
  let len: Buffer;
  if (n < 0x80) len = Buffer.from([n]);
  else if (n < 0x100) len = Buffer.from([0x81, n]);
  else if (n < 0x10000) len = Buffer.from([0x82, n >> 8, n & 0xff]);
  else len = Buffer.from([0x83, n >> 16, (n >> 8) & 0xff, n & 0xff]);
  return Buffer.concat([Buffer.from([tag]), len, content]);
}

const seq = (...items: Buffer[]): Buffer => tlv(0x30, Buffer.concat(items));
const octets = (b: Buffer): Buffer => tlv(0x04, b);
const utf8 = (s: string): Buffer => tlv(0x0c, Buffer.from(s, 'utf8'));
const bool = (v: boolean): Buffer => tlv(0x01, Buffer.from([v ? 0xff : 0]));
const bitString = (b: Buffer, unusedBits: number): Buffer => tlv(0x03, Buffer.concat([Buffer.from([unusedBits]), b]));

function integer(b: Buffer): Buffer {
  return tlv(0x02, b[0] & 0x80 ? Buffer.concat([Buffer.from([0]), b]) : b);
}

function oid(dotted: string): Buffer {
  const parts = dotted.split('.').map(Number);
  const bytes = [parts[0] * 40 + parts[1]];
  for (const part of parts.slice(2)) {
    const chunk = [part & 0x7f];
    for (let v = part >>> 7; v > 0; v >>>= 7) chunk.unshift((v & 0x7f) | 0x80);
    bytes.push(...chunk);
  }
  return tlv(0x06, Buffer.from(bytes));
}

/** UTCTime until 2049, GeneralizedTime after, as RFC 5280 requires. */
function time(d: Date): Buffer {
  const iso = d.toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
  const digits = iso.slice(0, 19).replace(/[-T:]/g, '');
  return d.getUTCFullYear() < 2050
    ? tlv(0x17, Buffer.from(`${digits.slice(2)}Z`, 'ascii'))
    : tlv(0x18, Buffer.from(`${digits}Z`, 'ascii'));
}

function pem(label: string, der: Buffer): string {
  const b64 = der.toString('base64').replace(/.{64}/g, '$&\n');
  return `-----BEGIN ${label}-----\n${b64}${b64.endsWith('\n') ? '' : '\n'}-----END ${label}-----\n`;
}
