<?php
// Drive IPS Export with PHP's SoapClient in WSDL mode, as the Drupal and
// wrapper integrations do: authHeader as a SoapHeader in the versioned
// namespace, no mustUnderstand.
// usage: php php_client.php WSDL_URL USER PASSWORD COMPANY_NAME ASSET_NAME NAMESPACE
[$_, $wsdl, $user, $password, $company, $asset, $ns] = $argv;
$client = new SoapClient($wsdl, ['trace' => 1, 'exceptions' => true, 'cache_wsdl' => WSDL_CACHE_NONE]);
$client->__setSoapHeaders([new SoapHeader($ns, 'authHeader',
    ['user' => $user, 'password' => $password, 'appName' => 'php-test', 'appVersion' => '1.0'], false)]);
$out = [];
$out['checkLogin'] = $client->checkLogin(['email' => $user, 'password' => $password])->status;
$out['checkLoginBad'] = $client->checkLogin(['email' => $user, 'password' => $password . 'x'])->status;
$ci = $client->getCompanyInfo(['companyName' => $company])->companyInfo;
$out['companyInfo'] = ['companyHandle' => $ci->companyHandle, 'name' => $ci->name, 'rootPath' => $ci->rootPath];
$handle = $ci->companyHandle;
$r = $client->getAssetsByName(['companyHandle' => $handle, 'nameArray' => ['items' => [$asset, 'no-such-asset']]]);
$items = isset($r->assetArray->items) ? $r->assetArray->items : [];
if (!is_array($items)) { $items = [$items]; } // PHP: one item is an object
$out['assets'] = array_map(fn($a) => ['assetHandle' => $a->assetHandle, 'name' => $a->name, 'type' => $a->type], $items);
$out['saveImageFormat'] = $client->saveImageFormat(['companyHandle' => $handle, 'name' => 'php-preset', 'urlModifier' => 'wid=300&fmt=png'])->imageFormatHandle;
$f = $client->getImageFormats(['companyHandle' => $handle]);
$fi = isset($f->imageFormatArray->items) ? $f->imageFormatArray->items : [];
if (!is_array($fi)) { $fi = [$fi]; }
$names = array_map(fn($x) => $x->name, $fi);
sort($names);
$out['formats'] = $names;
try {
    $client->getCompanyInfo(['companyName' => 'No Such Company']);
    $out['fault'] = null;
} catch (SoapFault $e) {
    $code = null;
    foreach ((array)$e->detail as $k => $v) { if (isset($v->code)) { $code = (int)$v->code; } }
    $out['fault'] = ['message' => $e->faultstring, 'code' => $code];
}
echo json_encode($out), "\n";
