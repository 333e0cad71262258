/**
 * A command line that cannot be run; `main` prints the message and exits with 64.
 *
 * @example
 * ```ts
 * throw new UsageError('--to is required');
 * ```
 */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** The usage text, for `--help`. */
export const USAGE = `Usage:
  rx-smtp send --server smtp://host:587 --user U --from A --to B [--to C] [options]
  rx-smtp probe smtp://host:port [--user U] [options]
  rx-smtp outbox add|work|status|uncertain [options]
  rx-smtp --help | --version

send options:
  --from ADDRESS        the sender: envelope and From: ("Alice <alice@example.com>" works)
  --to ADDRESSES        recipients, comma-separated ("b@example.com, Carol <c@example.com>");
                        repeat for more
  --subject TEXT        the Subject: (default "rx-smtp test")
  --body TEXT|@FILE|-   the text of the message: TEXT as given, from FILE, or standard input
  --header "NAME: VALUE"  add a header, or replace From, To, Subject, Date or Message-ID; repeat
  --attach FILE         attach FILE (its type from its name); repeat for more
  --data FILE|-         send FILE (or standard input) as the whole message, as it is
  --count N             send N copies through a pool of connections, with progress
  --mails FILE.jsonl    send one mail per line: {"from","to","subject","body"}, each optional
                        when given on the command line; every line is checked before any is sent
connection options (send and probe):
  --server URL          smtp://host:port (STARTTLS when offered) or smtps://host:465 (implicit TLS);
                        probe takes it as its argument
  --port N              the port, instead of the URL's
  -4, -6                connect over IPv4 only, or IPv6 only
  --tls MODE            starttls (default), starttls-required, implicit or none
  --ca FILE             trust the CA certificate(s) in FILE as well as the system's
  --insecure            do NOT verify the server's certificate (testing only; says so loudly)
  --ehlo NAME           the EHLO name (default: this host's name, or its address)
  --protocol smtp|lmtp  speak LMTP (LHLO, one reply per recipient) to a delivery agent
  --user NAME           authenticate as NAME; the password comes from --password-file,
                        the RX_SMTP_PASSWORD environment variable, or a prompt on a terminal
  --password-file FILE  read the password from the first line of FILE
  --auth MECHANISM      use this SASL mechanism only (PLAIN, LOGIN, CRAM-MD5, SCRAM-SHA-256, ...)
  --allow-insecure-auth send the password even without TLS (a test server on loopback)
  --timeout DURATION    give up on a reply after DURATION: 30s, 2m, 500ms (default 60s)
  --verbose             print the conversation (passwords redacted) on standard error

outbox (a durable queue on Redis, several workers; see the README's "Scaling out"):
  rx-smtp outbox add --from A --to B [send's message options] [--id ID]
                        enqueue the message (or --count copies, or --mails FILE.jsonl); with
                        --id, adding it again while its job exists is a no-op
  rx-smtp outbox work --server URL [connection options] [--connections N] [--concurrency N]
                      [--until-empty]
                        send what the queue holds through a pool of N connections (default 5),
                        N jobs held at once (default connections x 2), with progress, until
                        SIGINT or SIGTERM, or until nothing is waiting, active or delayed
  rx-smtp outbox status the counts: waiting, active, delivered, failed, uncertain, delayed
  rx-smtp outbox uncertain [--delivered ID]... [--retry ID]...
                        list the mails that may have been delivered; resolve them as delivered
                        (never sent again) or to be sent again
  every outbox command takes --redis redis://host:6379[/db] (default: RX_SMTP_REDIS, else
  redis://127.0.0.1:6379; a password goes in RX_SMTP_REDIS, never on the command line) and
  --queue NAME (default rx-smtp)

probe prints the greeting, TLS, certificate, capabilities and AUTH mechanisms; with --user it
also logs in (and sends no mail).

Exit status: 0 sent, 64 usage, 65 bad --mails line, 66 unreadable file, 69 refused (5xx),
75 temporary failure (4xx, timeout, connection), 76 protocol error, 77 authentication refused,
78 TLS mode does not fit the port.
`;
