// Drive IPS Export with node-soap (npm "soap"), loading the served WSDL.
// usage: node node_client.js WSDL_URL USER PASSWORD COMPANY_NAME ASSET_NAME NAMESPACE
const soap = require('soap');

function xmlEscape(s) {
  return String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

async function main() {
  const [wsdl, user, password, company, asset, ns] = process.argv.slice(2);
  const client = await soap.createClientAsync(wsdl);
  client.addSoapHeader(`<authHeader xmlns="${ns}"><user>${xmlEscape(user)}</user><password>${xmlEscape(password)}</password><appName>node-test</appName><appVersion>1</appVersion></authHeader>`);
  const out = {};
  out.checkLogin = (await client.checkLoginAsync({ email: user, password }))[0].status;
  out.checkLoginBad = (await client.checkLoginAsync({ email: user, password: password + 'x' }))[0].status;
  const ci = (await client.getCompanyInfoAsync({ companyName: company }))[0].companyInfo;
  out.companyInfo = { companyHandle: ci.companyHandle, name: ci.name, rootPath: ci.rootPath };
  const handle = ci.companyHandle;
  const r = (await client.getAssetsByNameAsync({ companyHandle: handle, nameArray: { items: [asset, 'no-such-asset'] } }))[0];
  let items = (r && r.assetArray && r.assetArray.items) || [];
  if (!Array.isArray(items)) items = [items];
  out.assets = items.map((a) => ({ assetHandle: a.assetHandle, name: a.name, type: a.type }));
  out.saveImageFormat = (await client.saveImageFormatAsync({ companyHandle: handle, name: 'node-preset', urlModifier: 'wid=300&fmt=png' }))[0].imageFormatHandle;
  const f = (await client.getImageFormatsAsync({ companyHandle: handle }))[0];
  let fi = (f && f.imageFormatArray && f.imageFormatArray.items) || [];
  if (!Array.isArray(fi)) fi = [fi];
  out.formats = fi.map((x) => x.name).sort();
  try {
    await client.getCompanyInfoAsync({ companyName: 'No Such Company' });
    out.fault = null;
  } catch (e) {
    const body = (e.root && e.root.Envelope && e.root.Envelope.Body && e.root.Envelope.Body.Fault) || {};
    const detail = body.detail || {};
    const inner = Object.values(detail).find((v) => v && typeof v === 'object' && 'code' in v) || {};
    out.fault = { message: body.faultstring, code: inner.code !== undefined ? Number(inner.code) : null };
  }
  console.log(JSON.stringify(out));
}

main().catch((e) => {
  console.error(e && e.stack ? e.stack : e);
  process.exit(1);
});
