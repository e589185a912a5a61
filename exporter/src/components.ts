/** The components every exporter runs, in start order (see component.ts). */
import type { ComponentFactory } from './component.js';
import { reportsComponent } from './reports/component.js';

export const COMPONENTS: ComponentFactory[] = [reportsComponent];
