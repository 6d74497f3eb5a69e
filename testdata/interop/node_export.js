// Follow IPS Export jobs end to end with node-soap (npm "soap"), loading the
// served WSDL: saveImageFormat, submitJob orig and convert, getActiveJobs
// and getJobLogDetails(originalName) every 500 ms until a detail's assetName
// is an http link, a plain GET of that link with no credentials (fetch),
// getJobLogs. Node has no zip reader, so the zip's central directory is read
// here and entries inflated with zlib.
// usage: node node_export.js CONFIG_JSON
// CONFIG_JSON: wsdl, ns, user, password, company, origHandles, convertNames,
// macro {name, urlModifier}, isModifier, jobPrefix, outDir.
const soap = require('soap');
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');
const zlib = require('zlib');

function xmlEscape(s) {
  return String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

// items is an IPS array as a JS list: node-soap gives one item as an object.
function items(arr) {
  if (!arr || arr.items === undefined || arr.items === null) return [];
  return Array.isArray(arr.items) ? arr.items : [arr.items];
}

function sniff(b) {
  const h = b.subarray(0, 16);
  if (h.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return 'png';
  if (h[0] === 0xff && h[1] === 0xd8 && h[2] === 0xff) return 'jpeg';
  const s4 = h.subarray(0, 4).toString('latin1');
  if (s4 === 'II*\x00' || s4 === 'MM\x00*') return 'tiff';
  if (s4 === 'GIF8') return 'gif';
  if (s4 === 'RIFF' && h.subarray(8, 12).toString('latin1') === 'WEBP') return 'webp';
  return 'unknown';
}

function zipEntries(data) {
  const eocd = data.lastIndexOf(Buffer.from('PK\x05\x06', 'latin1'));
  if (eocd < 0) throw new Error('no end of central directory');
  const total = data.readUInt16LE(eocd + 10);
  let p = data.readUInt32LE(eocd + 16);
  const out = [];
  for (let i = 0; i < total; i++) {
    if (data.readUInt32LE(p) !== 0x02014b50) throw new Error(`bad central header at ${p}`);
    const method = data.readUInt16LE(p + 10);
    const csize = data.readUInt32LE(p + 20);
    const nlen = data.readUInt16LE(p + 28);
    const xlen = data.readUInt16LE(p + 30);
    const clen = data.readUInt16LE(p + 32);
    const local = data.readUInt32LE(p + 42);
    const name = data.subarray(p + 46, p + 46 + nlen).toString('utf8');
    const start = local + 30 + data.readUInt16LE(local + 26) + data.readUInt16LE(local + 28);
    const raw = data.subarray(start, start + csize);
    const body = method === 8 ? zlib.inflateRawSync(raw) : raw;
    out.push({
      name, size: body.length, sha256: crypto.createHash('sha256').update(body).digest('hex'),
      head: body.subarray(0, 16).toString('hex'), format: sniff(body),
    });
    p += 46 + nlen + xlen + clen;
  }
  return out;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function follow(client, company, jobName, jobHandle, outDir) {
  const res = { jobName, jobHandle, activeStates: [], polls: 0 };
  const deadline = Date.now() + 120000;
  let zipURL = null;
  while (zipURL === null && Date.now() < deadline) {
    res.polls++;
    // Keys in schema order: node-soap writes them as given.
    const [a] = await client.getActiveJobsAsync({ companyHandle: company, originalName: jobName });
    for (const aj of items(a && a.jobArray)) {
      if (!res.activeStates.includes(aj.state)) res.activeStates.push(aj.state);
    }
    const [d] = await client.getJobLogDetailsAsync({ companyHandle: company, originalName: jobName });
    for (const log of items(d && d.jobLogArray)) {
      const details = items(log.detailArray);
      const hit = details.find((x) => typeof x.assetName === 'string' && x.assetName.startsWith('http'));
      if (hit) {
        zipURL = hit.assetName;
        res.detailTypes = details.map((x) => x.logType);
        break;
      }
    }
    if (zipURL === null) await sleep(500);
  }
  if (zipURL === null) throw new Error(`job ${jobName} did not end within 120 s`);
  res.zipURL = zipURL;

  const resp = await fetch(zipURL); // no credentials
  res.downloadStatus = resp.status;
  const data = Buffer.from(await resp.arrayBuffer());
  const file = path.join(outDir, `${jobName}.zip`);
  fs.writeFileSync(file, data);
  res.zipPath = file;
  res.entries = zipEntries(data);

  const [logs] = await client.getJobLogsAsync({ companyHandle: company });
  for (const log of items(logs && logs.jobLogArray)) {
    if (log.jobHandle === jobHandle) {
      res.log = {
        jobHandle: log.jobHandle, logType: log.logType,
        totalFileCount: Number(log.totalFileCount), fileSuccessCount: Number(log.fileSuccessCount),
        fileErrorCount: Number(log.fileErrorCount), fileWarningCount: Number(log.fileWarningCount),
      };
    }
  }
  return res;
}

async function main() {
  const cfg = JSON.parse(process.argv[2]);
  const client = await soap.createClientAsync(cfg.wsdl);
  client.addSoapHeader(`<authHeader xmlns="${cfg.ns}"><user>${xmlEscape(cfg.user)}</user><password>${xmlEscape(cfg.password)}</password><appName>node-export</appName><appVersion>1</appVersion></authHeader>`);
  const out = {};
  const handle = (await client.getCompanyInfoAsync({ companyName: cfg.company }))[0].companyInfo.companyHandle;
  out.companyHandle = handle;
  out.macroHandle = (await client.saveImageFormatAsync({
    companyHandle: handle, name: cfg.macro.name, urlModifier: cfg.macro.urlModifier,
  }))[0].imageFormatHandle;
  const [found] = await client.getAssetsByNameAsync({ companyHandle: handle, nameArray: { items: cfg.convertNames } });
  out.convertHandles = items(found && found.assetArray).map((a) => a.assetHandle);

  const p = cfg.jobPrefix;
  const origHandle = (await client.submitJobAsync({
    companyHandle: handle, jobName: `${p}-orig`,
    exportJob: { assetHandleArray: { items: cfg.origHandles }, fmt: 'orig', emailSetting: 'None' },
  }))[0].jobHandle;
  const convHandle = (await client.submitJobAsync({
    companyHandle: handle, jobName: `${p}-convert`,
    exportJob: {
      assetHandleArray: { items: out.convertHandles }, fmt: 'convert',
      is_modifier: cfg.isModifier, macro: `$${cfg.macro.name}$`, emailSetting: 'None',
    },
  }))[0].jobHandle;
  out.orig = await follow(client, handle, `${p}-orig`, origHandle, cfg.outDir);
  out.convert = await follow(client, handle, `${p}-convert`, convHandle, cfg.outDir);
  console.log(JSON.stringify(out));
}

main().catch((e) => {
  console.error(e && e.stack ? e.stack : e);
  if (e && e.body) console.error(e.body);
  process.exit(1);
});
