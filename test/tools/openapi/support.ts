/** Where the OpenAPI tests find their specs. */
import { createRequire } from 'node:module';
import path from 'node:path';

export const FIXTURES = path.resolve(import.meta.dirname, '../../fixtures/openapi');
export const PETSTORE = path.join(FIXTURES, 'petstore.yaml');
export const V31 = path.join(FIXTURES, 'v31/api.yaml');
/** GitHub's REST description (npm `@octokit/openapi`, a devDependency): ~1000 operations, 13 MB. */
export const GITHUB_SPEC = createRequire(import.meta.url).resolve('@octokit/openapi/generated/api.github.com.json');
