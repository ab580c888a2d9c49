import { execFile } from 'node:child_process';
import { mkdir, readFile, access } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);

export interface TlsFiles {
  key: Buffer;
  cert: Buffer;
}

/** Reads a key and certificate given as PEM file paths. */
export async function readTlsFiles(keyPath: string, certPath: string): Promise<TlsFiles> {
  return { key: await readFile(keyPath), cert: await readFile(certPath) };
}

/**
 * The dev certificate: made once with openssl in <dataDir>/tls (self-signed, for the
 * server name, localhost and 127.0.0.1), then reused so clients that pinned it keep
 * working. Returns undefined when openssl is not installed: Mailroom then runs without
 * STARTTLS, which loopback dev allows.
 */
export async function ensureSelfSignedCertificate(
  dataDir: string,
  hostname: string,
): Promise<TlsFiles | undefined> {
  const dir = join(dataDir, 'tls');
  const keyPath = join(dir, 'key.pem');
  const certPath = join(dir, 'cert.pem');
  const exists = await access(certPath).then(
    () => true,
    () => false,
  );
  if (!exists) {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    try {
      await exec('openssl', [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-sha256',
        '-days',
        '825',
        '-keyout',
        keyPath,
        '-out',
        certPath,
        '-subj',
        `/CN=${hostname}`,
        '-addext',
        `subjectAltName=DNS:${hostname},DNS:localhost,IP:127.0.0.1`,
      ]);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }
  return readTlsFiles(keyPath, certPath);
}
