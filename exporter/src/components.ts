/** The components every exporter runs, in start order (see component.ts). */
import type { ComponentFactory } from './component.js';
import { liveComponent } from './live/component.js';

export const COMPONENTS: ComponentFactory[] = [liveComponent];
