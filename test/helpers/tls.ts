/** A throwaway self-signed certificate from the machine's openssl, for TLS listeners and JWT x5c tests. */
import { execFileSync } from 'node:child_process';
import path from 'node:path';

/**
 * Writes `key.pem` and `cert.pem` (P-256, one day) into `dir`; the certificate names `cn` and,
 * by default, `localhost` and 127.0.0.1 as subject alternative names. Returns both paths.
 */
export function selfSignedCert(dir: string, cn = 'localhost', sans = true): { key: string; cert: string } {
  const key = path.join(dir, 'key.pem');
  const cert = path.join(dir, 'cert.pem');
  execFileSync(
    'openssl',
    [
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1'],
      ['-subj', `/CN=${cn}`],
      sans ? ['-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'] : [],
      ['-keyout', key, '-out', cert],
    ].flat(),
    { stdio: 'ignore' },
  );
  return { key, cert };
}
