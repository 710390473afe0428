import { request } from 'node:http';

/** An HTTP exchange with the endpoint: status, headers, body. */
export async function fetchPath(
  base: string,
  path: string,
  method = 'GET',
): Promise<{ status: number; type: string; allow: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    // A fresh connection each time (no keep-alive): a request after stop must meet a closed port.
    const req = request(new URL(path, base), { method, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), allow: res.headers.allow, body }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}
