/**
 * Help texts: the top-level usage and one page per command (usage, options, examples). Kept
 * apart from the commands so the wording of the whole CLI can be read and reviewed in one place.
 */

/** Top-level usage (`portcullis --help`). */
export const MAIN_HELP = `Usage: portcullis <command> [options]

Portcullis: a secure MCP gateway.

Commands:
  start    Run the gateway (no --config: the embedded demo)
  token    Mint a short-lived HS256 token for testing
  check    Validate a config and print the tool x role matrix
  audit    Read the audit trail: tail, query, verify, export
  openapi  Generate tool definitions from an OpenAPI 3.0/3.1 description

Options:
  -h, --help     Show help (also: portcullis <command> --help)
  -v, --version  Print the version

Environment:
  PORTCULLIS_CONFIG  Config file used when --config is not given
  PORT, HOST         Listen port and host (the --port/--host flags win)
  PORTCULLIS_DEBUG   Set to 1 to print stack traces on errors

Exit codes: 0 success, 1 runtime failure, 2 usage or configuration error.

Examples:
  portcullis start
  portcullis token --sub alice --org acme --roles user
  portcullis check --config portcullis.yaml
  portcullis audit verify
  portcullis openapi openapi.yaml --base-url https://api.example.com --out tools.yaml
`;

const CONFIG_OPTION = `  -c, --config FILE  Config file (default: $PORTCULLIS_CONFIG, else the embedded demo)`;

/** Per-command help pages (`portcullis <command> --help`). */
export const COMMAND_HELP: Readonly<Record<'start' | 'token' | 'check' | 'audit' | 'openapi', string>> = {
  start: `Usage: portcullis start [--config FILE] [--host H] [--port N]

Runs the gateway until SIGINT or SIGTERM, then closes it gracefully.
Without a config it serves the embedded demo on 127.0.0.1:3000, keeping its
state (random dev secret, demo database) in ./.portcullis/.

Options:
${CONFIG_OPTION}
      --host H       Listen host (default: $HOST, else the config's server.host)
  -p, --port N       Listen port, 0 for any free port (default: $PORT, else server.port)
  -h, --help         Show this help

Logs are JSON lines on stdout; the startup banner and errors go to stderr.

Examples:
  portcullis start
  PORT=8080 portcullis start
  portcullis start --config /etc/portcullis/portcullis.yaml
`,
  token: `Usage: portcullis token --sub ID --org ID --roles a,b [--scopes "x y"] [--ttl 15m] [--config FILE]

Mints a JWT signed with the first issuer in the config that has an HS secret,
for the config's audience, and prints only the token on stdout. Without a
config it signs with the embedded demo's secret (./.portcullis/dev-secret,
created if absent), so the token works with 'portcullis start'.
PORT and HOST matter: the audience is the gateway's public URL.

Options:
      --sub ID        User id (the config's user claim, default 'sub')
      --org ID        Tenant id (the tenant claim, default 'org_id')
      --roles a,b     Roles, comma-separated (the roles claim)
      --scopes "x y"  Scopes, space- or comma-separated (the scope claim; omitted if not given)
      --ttl DURATION  Lifetime: 90s, 15m, 2h, 1d or seconds (default 15m;
                      at most the config's auth.maxTokenAgeSec)
${CONFIG_OPTION}
  -h, --help          Show this help

Examples:
  portcullis token --sub alice --org acme --roles user
  portcullis token --sub carol --org acme --roles admin --ttl 1h
  TOKEN=$(portcullis token --sub bob --org globex --roles user)
`,
  check: `Usage: portcullis check [--config FILE]

Validates the config and compiles every tool the way 'start' does (schemas,
handlers, keys), without listening and without writing anything (no audit or
demo database, no key file; Redis and PostgreSQL are not contacted). On success
prints the tool x role matrix:
  \u2713 the role may use the tool   \u00b7 it may not
  flags: ! destructive (needs confirmation), r read-only, t tenant-bound
On failure lists every problem with its config path and exits 2.

Options:
${CONFIG_OPTION}
  -h, --help         Show this help

Examples:
  portcullis check
  portcullis check --config portcullis.yaml
`,
  audit: `Usage: portcullis audit <tail|query|verify|export> [options]

Reads the audit store of the config, read-only: its PostgreSQL table
(audit.postgres) if it has one, else its SQLite file (the embedded demo's is
./.portcullis/audit.sqlite).

  tail [-n N] [-f] [filters] [--format table|json]
      The last N events (default 20); -f, --follow prints new ones every 0.5 s
      until Ctrl-C.
  query [--since T] [--until T] [filters] [--limit N] [--format table|json]
      Events in a time range, oldest first (default limit 100).
  verify [--instance I]
      Walks the hash chain of every instance (or one) and reports the first
      broken link: an edited, deleted or reordered event. Exits 1 if broken.
  export [--since T] [--until T] [filters] [--out FILE]
      Every matching event as JSON lines (default: stdout), for a SIEM.

Filters:
      --user U --tenant T --tool NAME --event E --instance I
      --outcome ok|error|denied
Times (T): ISO 8601 (2026-11-24T10:00:00Z) or a duration ago (15m, 2h, 1d;
      also --since=-15m).

Options:
${CONFIG_OPTION}
      --db FILE      Read this SQLite audit database instead of the config's
      --store S      sqlite or postgres: which of the config's stores to read
  -h, --help         Show this help

Exit codes: 0 success, 1 broken chain or runtime failure, 2 usage or config error.

Examples:
  portcullis audit tail -f --tool refund_payment
  portcullis audit query --since 1h --outcome denied --format json
  portcullis audit verify
  portcullis audit export --since 2026-11-01T00:00:00Z --out audit.jsonl
`,
  openapi: `Usage: portcullis openapi SPEC [--out FILE] [options]

Reads an OpenAPI 3.0 or 3.1 description (a local JSON or YAML file; $refs to
other files only inside its directory, never over the network) and writes one
tool per operation, with an http backend, as YAML to add to a config:
  name         operationId ([A-Za-z0-9_-], unique; else method and path)
  input        path, query and header parameters, and the JSON request body
               as one argument 'body'; credentials are never arguments
  readOnly     GET, HEAD      destructive  DELETE (adds a required 'confirm')
  scopes       the operation's security requirements (all of them)
  roles        x-portcullis-roles, else --role-map, else --roles, else admin
PUT and PATCH operations are marked for review. The summary and every warning
(operations skipped, keywords dropped) go to stderr.

Options:
  -o, --out FILE            Write to FILE instead of stdout
      --upstream NAME       The upstream the tools call (default: api)
      --base-url URL        Also write an upstreams: entry for NAME with this URL
      --roles a,b           Roles of operations without x-portcullis-roles or a
                            --role-map match (default: admin)
      --role-map S=R1+R2    Operations needing scope S get roles R1, R2 (repeatable)
      --prefix P            Prepend P to every tool name
      --include-tag T       Keep only matching operations: each option repeatable,
      --include-path P      a match of any --include-* keeps an operation; a path
      --include-operation ID  is a prefix (/repos) or a glob (/repos/*/issues)
      --exclude-tag T       Drop matching operations (any match drops; wins over
      --exclude-path P      --include-*)
      --exclude-operation ID
  -h, --help                Show this help

Exit codes: 0 success, 1 runtime failure (e.g. cannot write FILE), 2 usage
error or an unusable spec.

Examples:
  portcullis openapi petstore.yaml --base-url https://petstore3.swagger.io/api/v3 \\
    --upstream petstore --roles user --role-map write:pets=admin --out petstore-tools.yaml
  portcullis openapi api.github.com.json --upstream github --include-tag issues --prefix gh_
`,
};
