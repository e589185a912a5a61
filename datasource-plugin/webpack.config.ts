import path from 'path';
import type { Configuration } from 'webpack';
import { merge } from 'webpack-merge';
import grafanaConfig, { type Env } from './.config/webpack/webpack.config';

// The exporter publishes its catalog as TypeScript (no build needed); bundle that source.
const config = async (env: Env): Promise<Configuration> =>
  merge(await grafanaConfig(env), {
    resolve: {
      alias: {
        '@cs-data-ops/exporter/catalog$': path.resolve(process.cwd(), '../exporter/src/catalog.ts'),
        '@cs-data-ops/exporter/time$': path.resolve(process.cwd(), '../exporter/src/time.ts'),
      },
    },
  });

export default config;
