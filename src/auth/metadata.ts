/**
 * OAuth 2.0 Protected Resource Metadata (RFC 9728), served unauthenticated at
 * `/.well-known/oauth-protected-resource/mcp` (path-aware form) and at the root form.
 */
import type { GatewayConfig } from '../config/types.js';

export const PRM_PATH = '/.well-known/oauth-protected-resource';

export function resourceUri(config: GatewayConfig): string {
  return `${config.server.publicUrl}/mcp`;
}

export function resourceMetadataUrl(config: GatewayConfig): string {
  return `${config.server.publicUrl}${PRM_PATH}/mcp`;
}

export function protectedResourceMetadata(config: GatewayConfig): Record<string, unknown> {
  return {
    resource: resourceUri(config),
    authorization_servers: config.auth.authorizationServers,
    // SEC-AUTH-07: minimal scopes, never a wildcard or offline_access.
    scopes_supported: config.auth.scopesSupported.filter((s) => s !== '*' && s !== 'offline_access'),
    bearer_methods_supported: ['header'],
    resource_name: 'Portcullis MCP gateway',
  };
}
