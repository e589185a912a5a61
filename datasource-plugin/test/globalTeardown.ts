import { stopExporterProcess } from './exporter';

export default async function globalTeardown(): Promise<void> {
  const e = (globalThis as any).__ccExporter;
  if (e) await stopExporterProcess(e);
}
