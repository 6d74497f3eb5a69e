// Load every WSDL with node-soap (npm "soap", pinned in package-lock.json) and
// send one submitJob with an exportJob.
// usage: node node_check.js BASE_URL TOOLKIT (WSDL NAMESPACE)...
// Prints a JSON array, one object per WSDL.
const soap = require('soap');

const meta = (k) => k === 'targetNSAlias' || k === 'targetNamespace';

async function main() {
  const [base, tk, ...rest] = process.argv.slice(2);
  const out = [];
  for (let i = 0; i + 1 < rest.length; i += 2) {
    const name = rest[i];
    const ns = rest[i + 1];
    const r = { wsdl: name };
    try {
      const c = await soap.createClientAsync(`${base}/scene7/webservice/${name}?tk=${tk}`);
      const d = c.describe();
      r.port = Object.keys(d.IpsApiService)[0];
      const port = d.IpsApiService.IpsApiSoapPort;
      r.operations = Object.keys(port).sort();
      const input = port.submitJob.input;
      r.submitJobParam = Object.keys(input).filter((k) => !meta(k));
      r.exportJob = Object.keys(input.exportJob).filter((k) => !meta(k));
      c.addSoapHeader(`<authHeader xmlns="${ns}"><user>node@example.com</user><password>pw</password><appName>node</appName><appVersion>1</appVersion></authHeader>`);
      const [res] = await c.submitJobAsync({
        companyHandle: 'c|1',
        jobName: 'node-job',
        exportJob: {
          assetHandleArray: { items: ['a|1', 'a|2'] },
          fmt: 'convert',
          is_modifier: 'wid=100&fmt=png',
          macro: '$thumb$',
          emailSetting: 'None',
        },
      });
      r.jobHandle = res && res.jobHandle;
      const first = (x) => (Array.isArray(x) ? x[0] : x);
      const [aj] = await c.getActiveJobsAsync({ companyHandle: 'c|1' });
      const job = first(aj.jobArray.items);
      r.activeJobHandle = job.jobHandle;
      r.activeExportFmt = job.exportJob ? job.exportJob.fmt : '';
      const [ld] = await c.getJobLogDetailsAsync({ companyHandle: 'c|1', originalName: 'node-job' });
      r.detailAssetName = first(first(ld.jobLogArray.items).detailArray.items).assetName;
    } catch (e) {
      r.error = String((e && e.stack) || e);
    }
    out.push(r);
  }
  console.log(JSON.stringify(out));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
