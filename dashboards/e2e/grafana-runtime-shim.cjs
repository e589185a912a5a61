// The part of @grafana/runtime a frontend data source uses: Grafana sets these services, the plugin gets them.
let backendSrv;
let templateSrv;
module.exports = {
  setBackendSrv: (s) => (backendSrv = s),
  getBackendSrv: () => backendSrv,
  setTemplateSrv: (s) => (templateSrv = s),
  getTemplateSrv: () => templateSrv,
  isFetchError: (e) => typeof e === 'object' && e !== null && 'status' in e && 'data' in e,
};
