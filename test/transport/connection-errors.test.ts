import { expect } from 'chai';
import { SmtpError, socketError } from '../../lib/errors';
import { upgradeError } from '../../lib/transport/connection-errors';

/** A TLS error as Node reports it: an Error with OpenSSL's code. */
function tlsFailure(code: string): SmtpError {
  return socketError(Object.assign(new Error(`ssl3_get_record: ${code}`), { code }));
}

describe('transport/connection-errors', () => {
  describe('upgradeError', () => {
    for (const code of ['ERR_SSL_WRONG_VERSION_NUMBER', 'ERR_SSL_HTTP_REQUEST', 'ERR_SSL_PACKET_LENGTH_TOO_LONG']) {
      it(`reads ${code} during the STARTTLS handshake as injected text: ESERVERSYNC, the TLS error its cause`, () => {
        const tlsError = tlsFailure(code);
        const error = upgradeError(tlsError);
        expect(error.code).to.equal('ESERVERSYNC');
        expect(error.message).to.contain('STARTTLS');
        expect((error.cause as { code?: string }).code).to.equal(code);
      });
    }

    it('passes other failures through as they are: a certificate, a reset, a timeout', () => {
      for (const error of [
        tlsFailure('DEPTH_ZERO_SELF_SIGNED_CERT'),
        tlsFailure('ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE'),
        tlsFailure('ECONNRESET'),
        new SmtpError('ETIMEDOUT', 'TLS handshake did not complete within 10 ms'),
      ]) {
        expect(upgradeError(error)).to.equal(error);
      }
    });
  });
});
