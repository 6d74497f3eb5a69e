<?php
// Store an asset's urlModifier and urlPostApplyModifier with PHP's
// SoapClient in WSDL mode (setUrlModifier, whose answer is empty), read
// them back with getAssets (imageInfo), then send a modifier the server
// refuses and report the SoapFault.
// usage: php php_urlmodifier.php CONFIG_JSON
// CONFIG_JSON: wsdl, ns, user, password, companyHandle, assetHandle,
// urlModifier, urlPostApplyModifier, badModifier.
// Prints one JSON object.

$cfg = json_decode($argv[1], true);
$client = new SoapClient($cfg['wsdl'], ['trace' => 1, 'exceptions' => true, 'cache_wsdl' => WSDL_CACHE_NONE]);
$client->__setSoapHeaders([new SoapHeader($cfg['ns'], 'authHeader',
    ['user' => $cfg['user'], 'password' => $cfg['password'], 'appName' => 'php-urlmodifier', 'appVersion' => '1.0'], false)]);

$out = ['functions' => array_values(array_filter($client->__getFunctions(),
    function ($f) { return strpos($f, 'setUrlModifier') !== false; }))];

$ret = $client->setUrlModifier(['companyHandle' => $cfg['companyHandle'], 'assetHandle' => $cfg['assetHandle'],
    'urlModifier' => $cfg['urlModifier'], 'urlPostApplyModifier' => $cfg['urlPostApplyModifier']]);
$out['setReturn'] = json_encode($ret);
$out['setRequest'] = $client->__getLastRequest();

$got = $client->getAssets(['companyHandle' => $cfg['companyHandle'],
    'assetHandleArray' => ['items' => [$cfg['assetHandle']]]]);
$asset = $got->assetArray->items;
if (is_array($asset)) { $asset = $asset[0]; }
$out['urlModifier'] = $asset->imageInfo->urlModifier ?? null;
$out['urlPostApplyModifier'] = $asset->imageInfo->urlPostApplyModifier ?? null;

try {
    $client->setUrlModifier(['companyHandle' => $cfg['companyHandle'], 'assetHandle' => $cfg['assetHandle'],
        'urlModifier' => $cfg['badModifier']]);
    $out['fault'] = null;
} catch (SoapFault $f) {
    $out['fault'] = ['faultcode' => $f->faultcode, 'faultstring' => $f->faultstring,
        'detail' => json_encode($f->detail ?? null)];
}
echo json_encode($out), "\n";
