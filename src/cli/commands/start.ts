/**
 * `portcullis start`: loads the config (or the embedded demo), runs the gateway, prints a short
 * banner on stderr, and on SIGINT/SIGTERM closes it gracefully. A second signal gives up waiting.
 */
import { createGateway } from '../../gateway.js';
import { createLogger } from '../../observability/log.js';
import { VERSION } from '../../version.js';
import { parseCommandArgs } from '../args.js';
import { loadCliConfig, withSource } from '../config.js';
import type { CliConfig } from '../config.js';
import type { CliContext } from '../context.js';
import { DEV_DIR, DEV_SECRET_FILE } from '../devSecret.js';
import { COMMAND_HELP } from '../help.js';

const OPTIONS = {
  config: { type: 'string', short: 'c' },
  host: { type: 'string' },
  port: { type: 'string', short: 'p' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Exit code when a second signal interrupts a graceful close (128 + SIGINT). */
const FORCED_EXIT = 130;

/** Runs `portcullis start`; resolves with the exit code once the gateway has stopped. */
export async function runStart(args: readonly string[], ctx: CliContext): Promise<number> {
  const flags = parseCommandArgs('start', args, OPTIONS);
  if (flags.help) {
    ctx.stdout(COMMAND_HELP.start);
    return 0;
  }
  const loaded = loadCliConfig(ctx, flags);
  const logger = createLogger(loaded.config.logging.level);
  const gateway = await createGateway(loaded.config, { logger }).catch((err: unknown) => {
    throw withSource(err, loaded.source);
  });
  let url: string;
  try {
    ({ url } = await gateway.listen());
  } catch (err) {
    await gateway.close();
    throw err;
  }
  ctx.stderr(banner(loaded, url));
  logger.info({ event: 'gateway.started', url, tools: gateway.catalog.size }, 'gateway started');

  return new Promise<number>((resolve) => {
    let stopping = false;
    const unsubscribe = ctx.onSignal((signal) => {
      if (stopping) {
        ctx.stderr(`portcullis: ${signal} again, exiting without waiting\n`);
        resolve(FORCED_EXIT);
        return;
      }
      stopping = true;
      ctx.stderr(`portcullis: ${signal} received, closing\n`);
      gateway
        .close()
        .then(() => {
          logger.info({ event: 'gateway.stopped', signal }, 'gateway stopped');
          logger.flush();
          unsubscribe();
          resolve(0);
        })
        .catch((err: unknown) => {
          ctx.stderr(`portcullis: error while closing: ${err instanceof Error ? err.message : String(err)}\n`);
          unsubscribe();
          resolve(1);
        });
    });
  });
}

/** The startup banner: where the MCP endpoint is and, for the demo, how to get in. */
function banner(loaded: CliConfig, url: string): string {
  const { config, demo, source, overrides } = loaded;
  // With port 0 the configured public URL names port 0; the bound URL is the useful one.
  const base = config.server.port === 0 ? url : config.server.publicUrl;
  const mcp = `${base}/mcp`;
  const lines = [
    `portcullis ${VERSION} listening on ${url}`,
    `  MCP endpoint: ${mcp}`,
    `  config:       ${demo ? `embedded demo (${source})` : source}`,
  ];
  if (demo) {
    // Tokens carry the public URL as audience, so the same HOST/PORT must reach `token`.
    const env = [
      ...(overrides.host !== undefined ? [`HOST=${overrides.host}`] : []),
      ...(overrides.port !== undefined ? [`PORT=${overrides.port}`] : []),
    ].join(' ');
    const cmd = `${env ? `${env} ` : ''}npx portcullis token`;
    lines.push(
      '',
      `Embedded demo: state in ./${DEV_DIR}/, tokens signed with ./${DEV_DIR}/${DEV_SECRET_FILE} (random, 0600).`,
      'Mint a token (only the JWT is printed):',
      `  ${cmd} --sub alice --org acme --roles user     # alice, user at acme`,
      `  ${cmd} --sub carol --org acme --roles admin    # carol, admin at acme`,
      `  ${cmd} --sub bob --org globex --roles user     # bob, user at globex`,
      `  ${cmd} --sub dave --org globex --roles admin   # dave, admin at globex`,
      'Call a tool (MCP 2026-07-28, one stateless request):',
      `  TOKEN=$(${cmd} --sub alice --org acme --roles user)`,
      `  curl -s ${mcp} -H "Authorization: Bearer $TOKEN" \\`,
      `    -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' \\`,
      `    -H 'MCP-Protocol-Version: 2026-07-28' -H 'Mcp-Method: tools/call' -H 'Mcp-Name: get_user_profile' \\`,
      `    -d '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_user_profile","arguments":{"userId":"alice"},` +
        `"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}'`,
      'REST path: list_projects, get_project, create_project, archive_project call the demo Projects API',
      'on loopback with a JWT the gateway signs (keys at /.well-known/jwks.json); same call, other Mcp-Name.',
    );
  }
  return `${lines.join('\n')}\n`;
}
