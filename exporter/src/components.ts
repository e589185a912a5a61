/** The components every exporter runs, in start order (see component.ts). */
import type { ComponentFactory } from './component.js';
import { liveComponent } from './live/component.js';
import { reportsComponent } from './reports/component.js';
import { simulatorComponent } from './simulator/component.js';
import { ADAPTER_COMPONENTS } from './adapters/index.js';

// The simulator stays last: it starts posting once everything else is up.
export const COMPONENTS: ComponentFactory[] = [liveComponent, reportsComponent, ...ADAPTER_COMPONENTS, simulatorComponent];
